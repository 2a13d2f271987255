"""The agent in the kernel, installed under a name chosen per kernel and checked before every request.

Student code runs in the same process as the agent, so nothing there is out of its reach; what can be
done is to make every change to the agent visible before the grader believes it again.  The agent is
bound under a random name (no well-known global to rebind), is a tuple of closures, and at install
time publishes a fingerprint: the identity of every function, code object, closure value, class and
table it reaches, and of the interpreter hooks and module functions it calls (``sys.setprofile``,
``json.loads``...).  Before every request, code sent fresh with the batch recomputes the fingerprint
of whatever it finds under the name; a different one (a proxy, a rebound closure cell, a
replaced ``json.loads``, an edited table) stops the batch with an error before the next call, so no
call the changed agent makes is credited.
"""
from __future__ import annotations

import secrets

FINGERPRINT_MIME = "application/x-dlgrade-fingerprint+json"
TAMPERED = "the submission changed the grader's helper in the kernel"

# Sent as text: defined anew in every batch, so a submission cannot have replaced it.
FINGERPRINT_SOURCE = '''
def __dlgrade_fingerprint__(agent):
    import sys, threading, types
    plain = (types.FunctionType, types.BuiltinFunctionType)
    ids, todo, seen = [], [agent], set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        ids.append(id(obj))
        kind = type(obj)
        if kind is tuple:
            todo.extend(obj)
        elif kind is types.FunctionType:
            todo.append(obj.__code__)
            todo.extend(cell.cell_contents for cell in obj.__closure__ or ())
            todo.extend(obj.__defaults__ or ())
        elif kind is dict:
            todo.extend(obj.values())
        elif kind is type:
            todo.extend(vars(obj).values())
        elif kind is types.ModuleType:
            ids.extend(id(value) for value in vars(obj).values() if type(value) in plain)
    ids.extend(id(hook) for hook in (sys.setprofile, threading.setprofile, sys.modules.get("threading")))
    return str(hash(tuple(ids)))
'''


def agent_name() -> str:
    return f"__dlgrade_agent_{secrets.token_hex(8)}__"


def install_code(agent_source: str, name: str, nonce: str) -> str:
    """Define the agent, bind it under ``name`` only, and publish its fingerprint with ``nonce``."""
    return as_one_token(
        f"exec(compile({agent_source!r}, '<dlgrade agent>', 'exec'), get_ipython().user_ns)\n"
        f"get_ipython().user_ns[{name!r}] = get_ipython().user_ns.pop('__dlgrade_agent__')\n"
        f"{FINGERPRINT_SOURCE}\n"
        "from IPython.display import publish_display_data as __dlgrade_publish__\n"
        f"__dlgrade_publish__({{{FINGERPRINT_MIME!r}: {{'nonce': {nonce!r}, "
        f"'fingerprint': __dlgrade_fingerprint__(get_ipython().user_ns[{name!r}])}}}})\n"
        "del __dlgrade_publish__, __dlgrade_fingerprint__", "<dlgrade install>")


def published_fingerprint(outputs: list[dict], nonce: str) -> str | None:
    for output in outputs:
        data = output.get("data") if isinstance(output, dict) else None
        payload = data.get(FINGERPRINT_MIME) if isinstance(data, dict) else None
        if isinstance(payload, dict) and payload.get("nonce") == nonce and isinstance(payload.get("fingerprint"), str):
            return payload["fingerprint"]
    return None


def guarded_batch(name: str, fingerprint: str, request_texts: list[str]) -> str:
    """The requests (``Call.request``) for the agent found under ``name``, each made only after
    its fingerprint is checked again: a student's call can change the agent for the calls after it."""
    code = (f"{FINGERPRINT_SOURCE}\n"
            f"for __dlgrade_request__ in {request_texts!r}:\n"
            f"    __dlgrade_found__ = get_ipython().user_ns.get({name!r})\n"
            f"    if __dlgrade_fingerprint__(__dlgrade_found__) != {fingerprint!r}:\n"
            f"        raise RuntimeError({TAMPERED + ': the calls after the change were not made'!r})\n"
            "    __dlgrade_found__[0](__dlgrade_request__)\n"
            "del __dlgrade_fingerprint__, __dlgrade_found__, __dlgrade_request__\n")
    return as_one_token(code, "<dlgrade batch>")


def as_one_token(code: str, label: str) -> str:
    """``code`` run as one string literal: IPython tokenizes every cell for its input transforms, which
    costs more than running a batch of calls (4 ms for the check's 25 lines); Python compiles a literal fast."""
    return ("import builtins as __dlgrade_builtins__\n"
            f"__dlgrade_builtins__.exec(__dlgrade_builtins__.compile({code!r}, {label!r}, 'exec'), get_ipython().user_ns)\n"
            "del __dlgrade_builtins__")
