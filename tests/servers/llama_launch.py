"""``python llama_launch.py ARGS``: llama-cpp-python's OpenAI server (``llama_cpp.server``,
same arguments) with llama.cpp's extra CPU buffer types off (``use_extra_bufts``).

Why: a virtual machine may advertise AMX (``AMX_INT8 = 1`` in llama.cpp's system info) and
still fault on its instructions; llama.cpp then places weights in its AMX buffer type and the
server dies of SIGILL (exit -4) on its first answer, which the tests would read as a model that
says nothing. The plain CPU path runs everywhere. This changes only the server's own process.
"""

from __future__ import annotations

import llama_cpp.llama_cpp as native

_default_params = native.llama_model_default_params


def _plain_cpu_params() -> native.llama_model_params:
    params = _default_params()
    params.use_extra_bufts = False
    return params


native.llama_model_default_params = _plain_cpu_params

if __name__ == "__main__":
    from llama_cpp.server.__main__ import main

    main()
