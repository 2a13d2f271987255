# The kernel side of the bridge.  This file is never imported by the grader: its text is sent to the
# student's kernel, where it defines one object, ``__dlgrade_agent__``.  It only moves data: it reads a
# request (JSON, with the arguments' arrays as base64 bytes), calls a function from the notebook's
# namespace, and publishes the result as display data of a private MIME type (JSON, arrays as base64
# bytes).  No file is written.  Nothing it sends is trusted by the grader, which re-validates all of it.
def __dlgrade_make_agent(shell):
    import base64
    import difflib
    import json
    import sys
    import threading
    import traceback

    import numpy as np
    from IPython.display import publish_display_data

    MIME = "application/x-dlgrade-response+json"
    user_ns = shell.user_ns
    # the namespace's methods, not the namespace: the integrity fingerprint must not walk its changing values
    lookup, namespace_items = user_ns.get, user_ns.items
    MAX_DEPTH = 32
    MAX_NODES = 100_000
    class Handles(dict):  # the objects kept for the grader: they change, so the fingerprint skips them
        pass

    handles = Handles()

    class Unencodable(Exception):
        pass

    def is_tensor(value):
        torch = sys.modules.get("torch")
        return torch is not None and isinstance(value, torch.Tensor)

    def encode(value, arrays, counter, depth=0):
        counter[0] += 1
        if counter[0] > MAX_NODES:
            raise Unencodable("more than %d values in the result" % MAX_NODES)
        if depth > MAX_DEPTH:
            raise Unencodable("result nested deeper than %d levels" % MAX_DEPTH)
        if value is None or isinstance(value, (bool, str)):
            return {"t": "scalar", "v": value}
        if isinstance(value, int):
            return {"t": "scalar", "v": value if abs(value) < 2**63 else float(value)}
        if isinstance(value, float):
            return {"t": "scalar", "v": value}
        if isinstance(value, complex):
            value = np.asarray(value)
        if is_tensor(value):
            key = "a%d" % len(arrays)
            arrays[key] = value.detach().cpu().resolve_conj().resolve_neg().numpy()
            return {"t": "array", "k": key, "tensor": True}
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
            if array.dtype.hasobject or array.dtype.kind not in "biufc":
                raise Unencodable("array of dtype %s (only numeric arrays cross)" % array.dtype)
            key = "a%d" % len(arrays)
            arrays[key] = array
            return {"t": "array", "k": key, "tensor": False}
        if isinstance(value, (list, tuple)):
            kind = "tuple" if isinstance(value, tuple) else "list"
            return {"t": kind, "v": [encode(item, arrays, counter, depth + 1) for item in value]}
        if isinstance(value, dict):
            keys, values = [], []
            for key, item in value.items():
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    raise Unencodable("dict key of type %s" % type(key).__name__)
                keys.append(key)
                values.append(encode(item, arrays, counter, depth + 1))
            return {"t": "dict", "keys": keys, "v": values}
        raise Unencodable("a value of type %s.%s" % (type(value).__module__, type(value).__qualname__))

    def decode(node, arrays, as_tensor):
        kind = node["t"]
        if kind == "scalar":
            return node["v"]
        if kind == "array":
            array = np.array(arrays[node["k"]])
            if as_tensor:
                import torch
                return torch.from_numpy(array)
            return array
        if kind == "handle":
            value = handles[node["id"]]
            for step in node.get("path", []):
                value = value[step]
            return value
        items = [decode(item, arrays, as_tensor) for item in node["v"]]
        if kind == "tuple":
            return tuple(items)
        if kind == "list":
            return items
        return dict(zip(node["keys"], items))

    def pack(arrays):
        """One flat member per dtype, as raw bytes, and where each array lies in it (the grader's
        ``unpack_arrays``)."""
        groups, names, filled, layout = {}, {}, {}, {}
        for key, array in arrays.items():
            dtype = array.dtype.str
            name = names.setdefault(dtype, "g%d" % len(names))
            layout[key] = [name, filled.get(dtype, 0), list(array.shape)]
            filled[dtype] = filled.get(dtype, 0) + array.size
            groups.setdefault(dtype, []).append(array)
        members = {names[dtype]: [dtype, base64.b64encode(np.concatenate([m.ravel() for m in group]).tobytes()).decode("ascii")]
                   for dtype, group in groups.items()}
        return members, layout

    def unpack(members, layout):
        flat = {name: np.frombuffer(base64.b64decode(data), np.dtype(dtype)) for name, (dtype, data) in members.items()}
        result = {}
        for key, (member, offset, shape) in layout.items():
            size = int(np.prod(shape, dtype=np.int64))
            result[key] = flat[member][offset:offset + size].reshape(shape)
        return result

    def send(nonce, payload, arrays):
        payload["nonce"] = nonce
        payload["arrays"], payload["layout"] = pack(arrays)
        publish({MIME: payload})

    def publish(data):
        """What ``publish_display_data`` sends, without copying the data to clean it (the payload is plain
        JSON) or flushing the output streams first (two waits on the kernel's IO thread), which were most
        of a call's cost; then one wait until the IO thread has sent it, so that the next call starts only
        once this answer is on its way: the grader's clock for a call runs from the answer before it."""
        display = getattr(shell, "display_pub", None)
        if not (hasattr(display, "pub_socket") and hasattr(display, "session")):  # a self-check, another kernel
            publish_display_data(data)
            return
        display.session.send(display.pub_socket, "display_data", {"data": data, "metadata": {}, "transient": {}},
                             parent=display.parent_header, ident=display.topic)
        io_thread = getattr(display.pub_socket, "io_thread", None)
        if hasattr(io_thread, "schedule"):
            sent = threading.Event()
            io_thread.schedule(sent.set)  # runs after the send queued before it
            sent.wait(10)

    def short_traceback(exc):
        frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop the agent's own frame
        lines = traceback.format_list(frames[-6:]) + traceback.format_exception_only(type(exc), exc)
        return "".join(lines)[-4000:]

    def call(request_text):
        request = json.loads(request_text)
        nonce = request["nonce"]
        name = request["function"]
        if isinstance(name, dict):  # an object kept earlier, e.g. the student's nn.Module
            function = decode({"t": "handle", **name}, {}, False)
        else:
            function = lookup(name)
        if not callable(function) and not (isinstance(name, dict) and request.get("op", "call") != "call"):
            names = [key for key, value in namespace_items() if callable(value) and not key.startswith("_")]
            send(nonce, {"status": "missing", "candidates": difflib.get_close_matches(name, names, n=3)}, {})
            return
        traced = set()
        try:
            arrays_in = unpack(request["arrays"], request["layout"])
            args = [decode(node, arrays_in, request.get("tensors", False)) for node in request["args"]]
            kwargs = {key: decode(node, arrays_in, request.get("tensors", False))
                      for key, node in request.get("kwargs", {}).items()}
            watch = Watch(traced) if request.get("trace") else None
            try:
                result = OPERATIONS[request.get("op", "call")](function, args, kwargs)
            finally:
                if watch is not None:
                    watch.stop()
        except BaseException as exc:  # the student's code may raise anything, SystemExit included
            send(nonce, {"status": "error", "type": type(exc).__name__, "message": str(exc)[:2000],
                         "traceback": short_traceback(exc), "traced": sorted(traced)[:MAX_TRACED]}, {})
            return
        if request.get("keep"):
            handles[request["keep"]] = result
        pick = request.get("pick")
        if pick is not None and isinstance(result, (tuple, list)):
            result = tuple(item if index in pick else None for index, item in enumerate(result))
        arrays_out = {}
        try:
            payload = {"status": "ok", "result": encode(result, arrays_out, [0])}
        except Unencodable as exc:
            payload, arrays_out = {"status": "unencodable", "message": str(exc)}, {}
        payload["traced"] = sorted(traced)[:MAX_TRACED]
        send(nonce, payload, arrays_out)

    def op_call(function, args, kwargs):
        return function(*args, **kwargs)

    def op_eval(module, args, kwargs):
        """Evaluation mode and a fixed seed, so dropout and sampling cannot change the comparison."""
        import torch
        torch.manual_seed(0)
        module.eval()
        return None

    def op_parameters(module, args, kwargs):
        return {name: value.detach() for name, value in module.named_parameters()}

    def op_load_parameters(module, args, kwargs):
        """The grader's weights into the module, by the module's own parameter names."""
        import torch
        own = dict(module.named_parameters())
        with torch.no_grad():
            for name, value in args[0].items():
                if name not in own or tuple(own[name].shape) != tuple(value.shape):
                    raise ValueError("the module has no parameter %s of shape %s" % (name, tuple(value.shape)))
                own[name].copy_(value.to(own[name].dtype))
        return None

    def op_warm_trace(function, args, kwargs):
        dispatch_recorder()
        return None

    def op_gradient_flow(module, args, kwargs):
        """The parameters that get no gradient from the sum of the module's output."""
        module.zero_grad(set_to_none=True)
        out = module(*args, **kwargs)
        out = out[0] if isinstance(out, (tuple, list)) else out
        out.float().sum().backward()
        return [name for name, value in module.named_parameters()
                if value.requires_grad and (value.grad is None or not bool(value.grad.abs().sum() > 0))]

    OPERATIONS = {"call": op_call, "eval": op_eval, "parameters": op_parameters,
                  "load_parameters": op_load_parameters, "gradient_flow": op_gradient_flow,
                  "warm_trace": op_warm_trace}

    # What a traced call did that the grader cannot follow is reported as such (names in <>), never
    # dropped: a forbidden call hidden behind it would otherwise pass.
    WAITS = frozenset({"threading.Condition.wait", "threading.Event.wait", "threading.Thread.join", ".lock.acquire",
                       "_thread.lock.acquire", ".RLock.acquire", "_thread.RLock.acquire", "queue.Queue.get",
                       "_queue.SimpleQueue.get", "concurrent.futures._base.Future.result"})
    SPAWNS = frozenset({"posix.fork", "posix.forkpty", "posix.posix_spawn", "posix.posix_spawnp", "posix.system",
                        "_posixsubprocess.fork_exec", "posix.execv", "posix.execve", "os.fork", "os.system"})
    THREAD_STARTS = frozenset({"_thread.start_new_thread", "_thread.start_new", "_thread.start_joinable_thread"})
    KERNEL_PACKAGES = ("ipykernel", "IPython", "zmq", "jupyter_client", "tornado", "traitlets")
    MAX_TRACED = 20000

    def make_recorder_class():
        """A torch dispatch mode recording every aten operator run: what ``torch.ops.aten.*`` and
        ``torch._C`` entry points reach, below any Python name."""
        from torch.utils._python_dispatch import TorchDispatchMode

        class Recorder(TorchDispatchMode):
            def __init__(self, ops):
                super().__init__()
                self.ops = ops

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                if len(self.ops) < MAX_TRACED:
                    self.ops.add(str(func.overloadpacket))
                return func(*args, **(kwargs or {}))
        return Recorder

    def warmed(recorder_class):
        """The class, used once on a small tensor: the first use imports half of torch's tracing
        machinery (seconds), which must not count against a student's call or be traced as theirs."""
        import torch
        with recorder_class(set()):
            torch.zeros(2).softmax(0) @ torch.ones(2)
        return recorder_class

    # made now when the notebook has imported torch, so the integrity fingerprint covers it; warmed on
    # first use (the grader asks for that before its traced calls: ``op_warm_trace``)
    recorder = make_recorder_class() if "torch" in sys.modules else None
    late_recorder, warm = [], []

    def dispatch_recorder():
        if recorder is not None:
            found = recorder
        elif "torch" not in sys.modules:
            return None
        else:
            if not late_recorder:
                late_recorder.append(make_recorder_class())
            found = late_recorder[0]
        if not warm:
            warm.append(warmed(found))
        return found

    def kernel_thread(thread):
        target = getattr(thread, "_target", None)
        modules = (type(thread).__module__ or "", getattr(target, "__module__", None) or "")
        return any(m.split(".")[0] in KERNEL_PACKAGES for m in modules)

    class Watch:
        """Every function (Python and C) and every aten operator the call runs, in its own thread and in
        every thread it starts; and what it did that cannot be followed: processes, threads that slipped
        past, work handed to a thread that was running before the call."""

        def __init__(self, seen):
            import threading
            self.seen, self.threading = seen, threading
            self.counts = {"started": 0, "followed": 0}
            self.before = {thread.ident for thread in threading.enumerate()}
            self.recorder = dispatch_recorder()
            self.modes = []
            self.tracer = self.make_tracer()
            threading.setprofile(self.follow)
            sys.setprofile(self.tracer)
            self.enter_mode()

        def enter_mode(self):
            if self.recorder is not None:
                mode = self.recorder(self.seen)
                mode.__enter__()
                self.modes.append(mode)

        def follow(self, frame, event, arg):
            """The first event of a thread started during the call: trace it too."""
            self.counts["followed"] += 1
            sys.setprofile(self.tracer)
            self.enter_mode()
            self.tracer(frame, event, arg)

        def make_tracer(self):
            seen, counts = self.seen, self.counts

            def tracer(frame, event, arg):
                if len(seen) >= MAX_TRACED:
                    seen.add("<more than %d distinct functions: the rest could not be followed>" % MAX_TRACED)
                    return
                if event == "c_call":
                    module = getattr(arg, "__module__", None) or ""
                    name = module + "." + (getattr(arg, "__qualname__", None) or getattr(arg, "__name__", "?"))
                    if name in THREAD_STARTS:
                        counts["started"] += 1
                    seen.add(name)
                elif event == "call":
                    seen.add(str(frame.f_globals.get("__name__", "")) + "." + frame.f_code.co_qualname)
            return tracer

        def stop(self):
            sys.setprofile(None)
            self.threading.setprofile(None)
            if self.modes:
                try:
                    self.modes[0].__exit__(None, None, None)  # this thread's; the others end with their threads
                except Exception:  # the student's code left the mode stack in another state
                    self.seen.add("<the call changed torch's dispatch modes: its operators may not all be seen>")
            seen = self.seen
            if seen & SPAWNS:
                seen.add("<a process started by the call: what it ran cannot be followed>")
            if self.counts["started"] > self.counts["followed"]:
                seen.add("<a thread started by the call that the grader could not follow>")
            if seen & WAITS and any(thread.ident in self.before and not kernel_thread(thread)
                                    and thread is not self.threading.main_thread()
                                    for thread in self.threading.enumerate()):
                seen.add("<the call waited on a thread that was running before it: what that thread ran "
                         "cannot be followed>")

    # a tuple, not an object with attributes: nothing in it can be rebound (the grader's integrity
    # check fingerprints everything it reaches before every request)
    return (call,)


__dlgrade_agent__ = __dlgrade_make_agent(get_ipython())  # noqa: F821 - defined in the kernel
del __dlgrade_make_agent
