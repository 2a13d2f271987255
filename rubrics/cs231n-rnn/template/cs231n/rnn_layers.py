"""This file defines layer types that are commonly used for recurrent neural networks."""
from __future__ import print_function, division

from builtins import range

import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """Run the forward pass for a single timestep of a vanilla RNN with a tanh activation.

    Inputs: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns a tuple of: next_h (N, H), cache (whatever your backward pass needs).
    """
    next_h, cache = None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    """Backward pass for a single timestep of a vanilla RNN.

    Inputs: dnext_h (N, H), cache from rnn_step_forward.
    Returns a tuple of: dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    dx, dprev_h, dWx, dWh, db = None, None, None, None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a vanilla RNN forward on an entire sequence of T vectors.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns a tuple of: h (N, T, H), cache.
    """
    h, cache = None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return h, cache


def rnn_backward(dh, cache):
    """Backward pass for a vanilla RNN over an entire sequence of data.

    Inputs: dh (N, T, H), the upstream gradients of all hidden states; cache from rnn_forward.
    Returns a tuple of: dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    dx, dh0, dWx, dWh, db = None, None, None, None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return dx, dh0, dWx, dWh, db


def word_embedding_forward(x, W):
    """Forward pass for word embeddings: a minibatch of N sequences of length T of indices into a
    vocabulary of V words, each word given a vector of dimension D.

    Inputs: x (N, T) integers in [0, V), W (V, D).
    Returns a tuple of: out (N, T, D), cache.
    """
    out, cache = None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return out, cache


def word_embedding_backward(dout, cache):
    """Backward pass for word embeddings: we cannot back-propagate into the words, which are
    integers, so only the gradient of the embedding matrix is returned.

    Inputs: dout (N, T, D), cache from word_embedding_forward.
    Returns: dW (V, D).
    """
    dW = None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return dW


def sigmoid(x):
    """A numerically stable version of the logistic sigmoid function."""
    pos_mask = x >= 0
    neg_mask = x < 0
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Forward pass for a single timestep of an LSTM; the gates are stacked i, f, o, g.

    Inputs: x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns a tuple of: next_h (N, H), next_c (N, H), cache.
    """
    next_h, next_c, cache = None, None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass for a single timestep of an LSTM.

    Inputs: dnext_h (N, H), dnext_c (N, H), cache from lstm_step_forward.
    Returns a tuple of: dx (N, D), dprev_h (N, H), dprev_c (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    dx, dprev_h, dprev_c, dWx, dWh, db = None, None, None, None, None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    """Forward pass for an LSTM over an entire sequence; the initial cell state is zero.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns a tuple of: h (N, T, H), cache.
    """
    h, cache = None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return h, cache


def lstm_backward(dh, cache):
    """Backward pass for an LSTM over an entire sequence of data.

    Inputs: dh (N, T, H), the upstream gradients of all hidden states; cache from lstm_forward.
    Returns a tuple of: dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    dx, dh0, dWx, dWh, db = None, None, None, None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return dx, dh0, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    """Forward pass for a temporal affine layer: the input is a set of D-dimensional vectors arranged
    into a minibatch of N timeseries, each of length T; each is transformed to an M-dimensional vector.

    Inputs: x (N, T, D), w (D, M), b (M,).
    Returns a tuple of: out (N, T, M), cache.
    """
    out, cache = None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return out, cache


def temporal_affine_backward(dout, cache):
    """Backward pass for a temporal affine layer.

    Inputs: dout (N, T, M), cache from temporal_affine_forward.
    Returns a tuple of: dx (N, T, D), dw (D, M), db (M,).
    """
    dx, dw, db = None, None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """A temporal softmax loss for RNNs: at every timestep of every sequence, a score for every word
    of a vocabulary of V words; the loss at each step is summed over the steps whose mask is True and
    averaged over the minibatch.

    Inputs: x (N, T, V) scores, y (N, T) integer targets in [0, V), mask (N, T) booleans.
    Returns a tuple of: loss (scalar), dx (N, T, V).
    """
    loss, dx = None, None
    # *****START OF YOUR CODE*****
    # TODO: implement this function as its docstring says.
    pass
    # *****END OF YOUR CODE*****
    return loss, dx
