/* An extension module that declares no Py_mod_gil slot: importing it on a
 * free-threaded CPython turns the GIL back on (Python/import.c), as an
 * extension not yet marked safe without the GIL does. `gil-lab learn 4`
 * builds it with gcc against the interpreter's own headers. */
#include <Python.h>
static PyModuleDef_Slot slots[] = {{0, NULL}};
static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "needs_gil", "Declares no Py_mod_gil slot.", 0,
    NULL, slots,
};
PyMODINIT_FUNC PyInit_needs_gil(void) { return PyModuleDef_Init(&definition); }
