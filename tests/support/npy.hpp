// A small .npy reader for the golden-data tests (tests/data/golden). Test-only: uses
// std::vector and iostreams, no exceptions. Reads format versions 1.0 and 2.0, little-endian
// '<f4' (float), '|u1' (uint8) and '<i4' (int32), C order; anything else is an error.
//
//   std::vector<float> v; std::vector<std::size_t> shape;
//   if (pms::test::read_npy(path, v, shape) != pms::test::NpyStatus::ok) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

namespace pms::test {

enum class NpyStatus {
  ok,
  cannot_open,          // file missing or unreadable
  bad_magic,            // not "\x93NUMPY"
  unsupported_version,  // not 1.0 / 2.0
  bad_header,           // header dict malformed (descr, fortran_order, shape)
  unsupported_dtype,    // not <f4, |u1, <i4
  fortran_order,        // fortran_order True
  dtype_mismatch,       // file dtype differs from the requested element type
  truncated,            // fewer data bytes than the shape needs
};

inline const char* describe(NpyStatus s) {
  switch (s) {
    case NpyStatus::ok: return "ok";
    case NpyStatus::cannot_open: return "cannot open file";
    case NpyStatus::bad_magic: return "not a .npy file";
    case NpyStatus::unsupported_version: return "unsupported .npy version";
    case NpyStatus::bad_header: return "malformed .npy header";
    case NpyStatus::unsupported_dtype: return "unsupported .npy dtype";
    case NpyStatus::fortran_order: return "Fortran-order .npy not supported";
    case NpyStatus::dtype_mismatch: return ".npy dtype differs from the requested type";
    case NpyStatus::truncated: return ".npy data truncated";
  }
  return "unknown";
}

template <class T>
constexpr const char* npy_descr() {
  if constexpr (std::is_same_v<T, float>) return "<f4";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "|u1";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "<i4";
  else static_assert(sizeof(T) == 0, "npy: element type must be float, uint8_t or int32_t");
}

namespace npy_detail {

// Value of `'key': ` in the header dict, up to the next ',' at depth 0 or the closing '}'.
inline bool dict_value(const std::string& h, const std::string& key, std::string& value) {
  const std::size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) return false;
  std::size_t p = h.find(':', k);
  if (p == std::string::npos) return false;
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  int depth = 0;
  std::size_t e = p;
  for (; e < h.size(); ++e) {
    const char c = h[e];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  if (e == h.size() || depth != 0) return false;
  value = h.substr(p, e - p);
  return true;
}

inline bool parse_shape(const std::string& v, std::vector<std::size_t>& shape) {
  if (v.size() < 2 || v.front() != '(' || v.back() != ')') return false;
  shape.clear();
  std::size_t p = 1;
  while (p < v.size() - 1) {
    while (p < v.size() - 1 && (v[p] == ' ' || v[p] == ',')) ++p;
    if (p >= v.size() - 1) break;
    std::size_t n = 0;
    bool digits = false;
    while (p < v.size() - 1 && v[p] >= '0' && v[p] <= '9') {
      n = n * 10 + static_cast<std::size_t>(v[p] - '0');
      digits = true;
      ++p;
    }
    if (!digits) return false;
    shape.push_back(n);
  }
  return true;
}

}  // namespace npy_detail

// Reads the header and data of a .npy file whose dtype must match T.
template <class T>
NpyStatus read_npy(const std::string& path, std::vector<T>& data, std::vector<std::size_t>& shape) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NpyStatus::cannot_open;
  char magic[8];
  if (!f.read(magic, 8)) return NpyStatus::bad_magic;
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0) return NpyStatus::bad_magic;
  std::size_t header_len = 0;
  if (magic[6] == 1 && magic[7] == 0) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) return NpyStatus::bad_header;
    header_len = b[0] | (std::size_t{b[1]} << 8);
  } else if (magic[6] == 2 && magic[7] == 0) {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) return NpyStatus::bad_header;
    header_len = b[0] | (std::size_t{b[1]} << 8) | (std::size_t{b[2]} << 16) | (std::size_t{b[3]} << 24);
  } else {
    return NpyStatus::unsupported_version;
  }
  std::string header(header_len, '\0');
  if (!f.read(header.data(), static_cast<std::streamsize>(header_len))) return NpyStatus::bad_header;
  std::string descr, order, shp;
  if (!npy_detail::dict_value(header, "descr", descr) || !npy_detail::dict_value(header, "fortran_order", order) ||
      !npy_detail::dict_value(header, "shape", shp))
    return NpyStatus::bad_header;
  if (descr != "'<f4'" && descr != "'|u1'" && descr != "'<i4'") return NpyStatus::unsupported_dtype;
  if (descr != std::string("'") + npy_descr<T>() + "'") return NpyStatus::dtype_mismatch;
  if (order == "True") return NpyStatus::fortran_order;
  if (order != "False") return NpyStatus::bad_header;
  std::vector<std::size_t> s;
  if (!npy_detail::parse_shape(shp, s)) return NpyStatus::bad_header;
  std::size_t n = 1;
  for (std::size_t d : s) n *= d;
  std::vector<T> v(n);
  if (n && !f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T))))
    return NpyStatus::truncated;
  data = std::move(v);
  shape = std::move(s);
  return NpyStatus::ok;
}

}  // namespace pms::test
