// Helpers shared by the binding files (the only files that include pybind11).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer.h"
#include "common/string_map.h"

namespace pfnpy {
namespace py = pybind11;
using pfn::Buffer;
using pfn::StringIdMap;
using pfn::free_large;

using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
using I64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

// UTF-8 views of a list of str/bytes, keeping the objects alive while the GIL is released.
struct Docs {
  std::vector<py::object> keep;
  std::vector<std::string_view> views;
};

inline std::string_view utf8_view(py::handle h, size_t index) {
  if (PyUnicode_Check(h.ptr())) {
    Py_ssize_t n;
    const char* p = PyUnicode_AsUTF8AndSize(h.ptr(), &n);
    if (!p) throw py::error_already_set();
    return {p, static_cast<size_t>(n)};
  }
  if (PyBytes_Check(h.ptr())) {
    return {PyBytes_AS_STRING(h.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(h.ptr()))};
  }
  throw py::type_error("documents must be str or bytes; item " + std::to_string(index) +
                       " is " + std::string(py::str(py::type::of(h).attr("__name__"))));
}

inline Docs docs_of(const py::sequence& seq) {
  Docs d;
  size_t n = py::len(seq);
  d.keep.reserve(n);
  d.views.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    py::object o = seq[i];
    d.views.push_back(utf8_view(o, i));
    d.keep.push_back(std::move(o));
  }
  return d;
}

inline py::str to_str(const char* p, size_t n) {
  bool ascii = true;
  for (size_t i = 0; i < n; ++i) ascii &= static_cast<unsigned char>(p[i]) < 0x80;
  if (ascii) {  // the common case: no decoding needed
    PyObject* o = PyUnicode_New(static_cast<Py_ssize_t>(n), 127);
    if (!o) throw py::error_already_set();
    std::memcpy(PyUnicode_1BYTE_DATA(o), p, n);
    return py::reinterpret_steal<py::str>(o);
  }
  PyObject* o = PyUnicode_DecodeUTF8(p, static_cast<Py_ssize_t>(n), "strict");
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

template <class T>
inline py::array_t<T> to_numpy(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(static_cast<py::ssize_t>(heap->size()), heap->data(), owner);
}

template <class T>
inline py::array_t<T> to_numpy(Buffer<T>&& b) {
  const size_t n = b.size();
  if (n == 0) return py::array_t<T>(0);
  T* p = b.release();
  py::capsule owner(p, [](void* q) { free_large(q); });
  return py::array_t<T>(static_cast<py::ssize_t>(n), p, owner);
}

// A Python-visible wrapper for a read-only string -> id map.
struct PyVocabulary {
  StringIdMap map;
};

// Python's Ctrl-C and progress callbacks between chunks of long work (GIL held briefly).
inline void check_signals() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

}  // namespace pfnpy
