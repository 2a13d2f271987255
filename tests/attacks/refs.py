def vec_inputs(rng, n):
    return {"x": rng.standard_normal(n)}


def double(x):
    return 2 * x


def plus_one(x):
    return x + 1


def tokens(rng, B, T):
    return {"x": rng.standard_normal((B, T, 4))}


def qkv(rng, n):
    return {name: rng.standard_normal((n, 4)) for name in ("q", "k", "v")}


def linear_parameters(d):
    return {"fc.weight": (d, d), "fc.bias": (d,)}


def linear(p, x):
    return x @ p["fc.weight"].T + p["fc.bias"]
