def vec_inputs(rng, n):
    return {"x": rng.standard_normal(n)}


def double(x):
    return 2 * x


def plus_one(x):
    return x + 1
