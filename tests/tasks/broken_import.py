import gil_lab_no_such_module  # noqa: F401


def run(i):
    return i
