// The compiled module pyfast_nlp._core: what the build is, how kernel exceptions become Python
// ones, and one init_* per kernel family (bindings/<family>.cpp).
#include <pybind11/pybind11.h>

#include <string>

#include "common/cpu.h"
#include "common/file_error.h"
#include "common/parallel.h"
#include "embeddings/vectors_io.h"
#include "text/analyzer.h"
#include "text/count.h"

namespace py = pybind11;

void init_text(py::module_& m);         // bindings/text.cpp
void init_naive_bayes(py::module_& m);  // bindings/naive_bayes.cpp
void init_embeddings(py::module_& m);   // bindings/embeddings.cpp
void init_rnn(py::module_& m);          // bindings/rnn.cpp

PYBIND11_MODULE(_core, m) {
  m.doc() = "pyfast_nlp compiled kernels (private; use the pyfast_nlp package)";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const pfn::DocumentError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const pfn::Utf8Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const pfn::VectorsFormatError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const pfn::LineTooLong& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const pfn::FileError& e) {  // OSError(errno, reason, path): the errno's own subclass
      PyObject* args = Py_BuildValue("(isN)", e.err, e.reason.c_str(), PyUnicode_DecodeFSDefault(e.path.c_str()));
      if (args) {
        PyErr_SetObject(PyExc_OSError, args);
        Py_DECREF(args);
      }
    }
  });

  m.def(
      "build_info",
      [] {
        py::dict d;
#if defined(__clang__)
        d["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
        d["compiler"] = std::string("gcc ") + __VERSION__;
#else
        d["compiler"] = "unknown";
#endif
#ifdef _OPENMP
        d["openmp"] = true;
        d["max_threads"] = omp_get_max_threads();
#else
        d["openmp"] = false;
        d["max_threads"] = 1;
#endif
        d["simd"] = pfn::simd_level();
#ifdef PFN_NATIVE
        d["native"] = true;
#else
        d["native"] = false;
#endif
#ifdef PFN_SANITIZE
        d["sanitize"] = true;
#else
        d["sanitize"] = false;
#endif
        return d;
      },
      "Compiler, OpenMP and its thread count, the SIMD level chosen at run time, native and sanitizer flags.");

  init_text(m);
  init_naive_bayes(m);
  init_embeddings(m);
  init_rnn(m);
}
