// What every binding file shares: array checks, str conversion, Ctrl-C and progress between
// chunks of long work. The binding files are the only ones that include pybind11.
#pragma once
#include <pybind11/functional.h>
#include <pybind11/native_enum.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
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

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
using I64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

// (done, total) bytes or items, called between chunks with the GIL held.
using Progress = std::optional<std::function<void(uint64_t, uint64_t)>>;

// ------------------------------------------------------------------ enumerations
// A C++ enumeration as a Python enum.Enum named `name`, its members named as the Python layer
// spells them ("word", "lstm", ...).
template <class E>
inline void bind_enum(py::module_& m, const char* name, const char* doc,
                      std::initializer_list<std::pair<const char*, E>> members) {
  py::native_enum<E> e(m, name, "enum.Enum", doc);
  for (const auto& [member, value] : members) e.value(member, value);
  e.finalize();
}

// ------------------------------------------------------------------ arrays
inline std::string shape_str(const std::vector<py::ssize_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

inline std::string shape_str(const py::array& a) {
  return shape_str(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()));
}

inline void check_shape(const py::array& a, const std::vector<py::ssize_t>& want, const char* name) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(want.size());
  for (size_t i = 0; ok && i < want.size(); ++i) ok = a.shape(i) == want[i];
  if (!ok)
    throw py::value_error(std::string(name) + " must have shape " + shape_str(want) + ", not " + shape_str(a));
}

// Read-only input: any real dtype is converted to float32; NaN is allowed through (it shows in
// the outputs, where the caller can see it).
inline F32 input(const py::object& o, const std::vector<py::ssize_t>& want, const char* name) {
  py::array a = py::array::ensure(o);
  if (!a) throw py::type_error(std::string(name) + " must be an array");
  if (a.dtype().kind() != 'f' && a.dtype().kind() != 'i' && a.dtype().kind() != 'u')
    throw py::type_error(std::string(name) + " must be a float32 array, not " + std::string(py::str(a.dtype())));
  check_shape(a, want, name);
  return F32::ensure(a);
}

// Arrays written in place (gradients, parameters, optimiser state): exactly float32,
// C-contiguous and writeable, so an update cannot land in a silent copy. An empty `want`
// accepts any shape.
inline float* inplace(const py::object& o, const std::vector<py::ssize_t>& want, const char* name) {
  if (!py::isinstance<py::array>(o)) throw py::type_error(std::string(name) + " must be a numpy array");
  py::array a = py::reinterpret_borrow<py::array>(o);
  if (a.dtype().kind() != 'f' || a.itemsize() != 4)
    throw py::type_error(std::string(name) + " must be float32, not " + std::string(py::str(a.dtype())));
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + " must be C-contiguous");
  if (!a.writeable()) throw py::value_error(std::string(name) + " must be writeable");
  if (!want.empty()) check_shape(a, want, name);
  return static_cast<float*>(a.mutable_data());
}

inline float* optional_inplace(const py::object& o, const std::vector<py::ssize_t>& want, const char* name) {
  return o.is_none() ? nullptr : inplace(o, want, name);
}

// A read-only float32 view of memory owned by `owner`.
inline py::array_t<float> view_of(const float* p, std::vector<py::ssize_t> shape, py::handle owner) {
  py::array_t<float> a(shape, p, owner);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
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

// int64 counts as float64 values in the same memory (both 8 bytes): no second array, no fresh
// pages to fault in, when the caller wants floats anyway.
inline py::array_t<double> to_numpy_float64(Buffer<int64_t>&& b) {
  const size_t n = b.size();
  if (n == 0) return py::array_t<double>(0);
  int64_t* p = b.release();
  for (size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(p[i]);
    std::memcpy(p + i, &v, sizeof v);
  }
  py::capsule owner(p, [](void* q) { free_large(q); });
  return py::array_t<double>(static_cast<py::ssize_t>(n), reinterpret_cast<double*>(p), owner);
}

// ------------------------------------------------------------------ text
// UTF-8 views of a list of str/bytes, keeping the objects alive while the GIL is released.
struct Docs {
  std::vector<py::object> keep;
  std::vector<std::string_view> views;
};

inline std::string type_name(py::handle h) { return py::str(py::type::of(h).attr("__name__")); }

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
  throw py::type_error("documents must be str or bytes; item " + std::to_string(index) + " is " + type_name(h));
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

// Runs kernel(views) on the UTF-8 views of `docs` with the GIL released; the documents stay
// alive (and are released with the GIL held again) around it.
template <class Kernel>
inline auto with_docs(const py::sequence& docs, Kernel&& kernel) {
  Docs d = docs_of(docs);
  py::gil_scoped_release nogil;
  return kernel(d.views);
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

// A Python-visible wrapper for a read-only string -> id map.
struct PyVocabulary {
  StringIdMap map;
};

// ------------------------------------------------------------------ long work
// Between chunks of long work, called without the GIL: let Ctrl-C through, then report
// progress (both with the GIL held briefly).
inline void between_chunks(const Progress& progress = std::nullopt, uint64_t done = 0, uint64_t total = 0) {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  if (progress) (*progress)(done, total);
}

inline void check_signals() { between_chunks(); }

}  // namespace pfnpy
