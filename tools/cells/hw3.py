"""hw3 P1 (RNN/LSTM) and P2 (SimpleGPT): the solution notebooks' cells."""

INTRO = """# HW3 — Practical P1: RNN and LSTM from scratch

Implement the forward and backward passes of a basic RNN and of an LSTM in numpy, in the
`parameters`-dict convention: one time step's input `xt` has shape `(n_x, m)` (features × batch), a
sequence `x` has shape `(n_x, m, T_x)`, and hidden states `(n_a, m)` / `(n_a, m, T_x)`.

Write your code only between `### START CODE HERE ###` and `### END CODE HERE ###`. Do not rename the
functions or change what they return: the grader calls them with its own inputs.

You can check your public items while you work with `grade check` (see the course page)."""

CELLS = [
    ("markdown", INTRO),
    ("code", "import numpy as np\nfrom rnn_utils import *"),
    ("markdown", "## 1. RNN forward\n\n$a^{\\langle t \\rangle} = \\tanh(W_{ax} x^{\\langle t \\rangle} + W_{aa} a^{\\langle t-1 \\rangle} + b_a)$, $\\hat y^{\\langle t \\rangle} = \\mathrm{softmax}(W_{ya} a^{\\langle t \\rangle} + b_y)$"),
    ("code", '''def rnn_cell_forward(xt, a_prev, parameters):
    """One step of the RNN. Returns a_next (n_a, m), yt_pred (n_y, m) and cache = (a_next, a_prev, xt, parameters)."""
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]
    Wya = parameters["Wya"]
    ba = parameters["ba"]
    by = parameters["by"]
    ### START CODE HERE ###
    a_next = np.tanh(np.dot(Wax, xt) + np.dot(Waa, a_prev) + ba)
    yt_pred = softmax(np.dot(Wya, a_next) + by)
    ### END CODE HERE ###
    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache'''),
    ("code", '''def rnn_forward(x, a0, parameters):
    """The RNN over T_x steps. Returns a (n_a, m, T_x), y_pred (n_y, m, T_x) and caches = (list of caches, x)."""
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    ### START CODE HERE ###
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    a_next = a0
    for t in range(T_x):
        a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt_pred
        caches.append(cache)
    ### END CODE HERE ###
    caches = (caches, x)
    return a, y_pred, caches'''),
    ("code", '''np.random.seed(1)
x_tmp = np.random.randn(3, 10, 4)
a0_tmp = np.random.randn(5, 10)
parameters_tmp = {"Waa": np.random.randn(5, 5), "Wax": np.random.randn(5, 3), "Wya": np.random.randn(2, 5),
                  "ba": np.random.randn(5, 1), "by": np.random.randn(2, 1)}
a_tmp, y_pred_tmp, caches_tmp = rnn_forward(x_tmp, a0_tmp, parameters_tmp)
print("a[4][1] =", a_tmp[4][1])
print("y_pred.shape =", y_pred_tmp.shape)'''),
    ("markdown", "## 2. LSTM forward\n\nGates act on `concat = [a_prev; xt]` (hidden state on top): forget $\\Gamma_f$, update $\\Gamma_i$, candidate $\\tilde c$, output $\\Gamma_o$."),
    ("code", '''def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    """One LSTM step. Returns a_next, c_next, yt_pred and
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)."""
    Wf = parameters["Wf"]
    bf = parameters["bf"]
    Wi = parameters["Wi"]
    bi = parameters["bi"]
    Wc = parameters["Wc"]
    bc = parameters["bc"]
    Wo = parameters["Wo"]
    bo = parameters["bo"]
    Wy = parameters["Wy"]
    by = parameters["by"]
    n_x, m = xt.shape
    n_y, n_a = Wy.shape
    ### START CODE HERE ###
    concat = np.concatenate((a_prev, xt), axis=0)
    ft = sigmoid(np.dot(Wf, concat) + bf)
    it = sigmoid(np.dot(Wi, concat) + bi)
    cct = np.tanh(np.dot(Wc, concat) + bc)
    c_next = ft * c_prev + it * cct
    ot = sigmoid(np.dot(Wo, concat) + bo)
    a_next = ot * np.tanh(c_next)
    yt_pred = softmax(np.dot(Wy, a_next) + by)
    ### END CODE HERE ###
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, yt_pred, cache'''),
    ("code", '''def lstm_forward(x, a0, parameters):
    """The LSTM over T_x steps from c = 0. Returns a, y, c (each (·, m, T_x)) and caches = (list of caches, x)."""
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    ### START CODE HERE ###
    a = np.zeros((n_a, m, T_x))
    c = np.zeros((n_a, m, T_x))
    y = np.zeros((n_y, m, T_x))
    a_next = a0
    c_next = np.zeros((n_a, m))
    for t in range(T_x):
        a_next, c_next, yt, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t] = a_next
        c[:, :, t] = c_next
        y[:, :, t] = yt
        caches.append(cache)
    ### END CODE HERE ###
    caches = (caches, x)
    return a, y, c, caches'''),
    ("markdown", "## 3. RNN backward\n\nGiven the gradient of the loss with respect to $a^{\\langle t \\rangle}$, return the gradients of the inputs and parameters."),
    ("code", '''def rnn_cell_backward(da_next, cache):
    """Returns a dict with dxt, da_prev, dWax, dWaa, dba."""
    (a_next, a_prev, xt, parameters) = cache
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]
    ### START CODE HERE ###
    dz = (1 - a_next ** 2) * da_next
    dxt = np.dot(Wax.T, dz)
    dWax = np.dot(dz, xt.T)
    da_prev = np.dot(Waa.T, dz)
    dWaa = np.dot(dz, a_prev.T)
    dba = np.sum(dz, axis=1, keepdims=True)
    ### END CODE HERE ###
    gradients = {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}
    return gradients'''),
    ("code", '''def rnn_backward(da, caches):
    """da: (n_a, m, T_x), the upstream gradient of every hidden state. Returns dx, da0, dWax, dWaa, dba."""
    (caches, x) = caches
    (a1, a0, x1, parameters) = caches[0]
    n_a, m, T_x = da.shape
    n_x, m = x1.shape
    ### START CODE HERE ###
    dx = np.zeros((n_x, m, T_x))
    dWax = np.zeros((n_a, n_x))
    dWaa = np.zeros((n_a, n_a))
    dba = np.zeros((n_a, 1))
    da_prevt = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])
        dx[:, :, t] = gradients["dxt"]
        da_prevt = gradients["da_prev"]
        dWax += gradients["dWax"]
        dWaa += gradients["dWaa"]
        dba += gradients["dba"]
    da0 = da_prevt
    ### END CODE HERE ###
    gradients = {"dx": dx, "da0": da0, "dWax": dWax, "dWaa": dWaa, "dba": dba}
    return gradients'''),
    ("markdown", "## 4. LSTM backward"),
    ("code", '''def lstm_cell_backward(da_next, dc_next, cache):
    """Returns a dict with dxt, da_prev, dc_prev, dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo."""
    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache
    n_x, m = xt.shape
    n_a, m = a_next.shape
    ### START CODE HERE ###
    tanh_c = np.tanh(c_next)
    dc = dc_next + da_next * ot * (1 - tanh_c ** 2)
    dot = da_next * tanh_c * ot * (1 - ot)
    dcct = dc * it * (1 - cct ** 2)
    dit = dc * cct * it * (1 - it)
    dft = dc * c_prev * ft * (1 - ft)
    concat = np.concatenate((a_prev, xt), axis=0).T
    dWf = np.dot(dft, concat)
    dWi = np.dot(dit, concat)
    dWc = np.dot(dcct, concat)
    dWo = np.dot(dot, concat)
    dbf = np.sum(dft, axis=1, keepdims=True)
    dbi = np.sum(dit, axis=1, keepdims=True)
    dbc = np.sum(dcct, axis=1, keepdims=True)
    dbo = np.sum(dot, axis=1, keepdims=True)
    Wf, Wi, Wc, Wo = parameters["Wf"], parameters["Wi"], parameters["Wc"], parameters["Wo"]
    dconcat = np.dot(Wf.T, dft) + np.dot(Wi.T, dit) + np.dot(Wc.T, dcct) + np.dot(Wo.T, dot)
    da_prev = dconcat[:n_a, :]
    dxt = dconcat[n_a:, :]
    dc_prev = dc * ft
    ### END CODE HERE ###
    gradients = {"dxt": dxt, "da_prev": da_prev, "dc_prev": dc_prev, "dWf": dWf, "dbf": dbf, "dWi": dWi,
                 "dbi": dbi, "dWc": dWc, "dbc": dbc, "dWo": dWo, "dbo": dbo}
    return gradients'''),
    ("code", '''def lstm_backward(da, caches):
    """da: (n_a, m, T_x). Returns dx, da0, dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo."""
    (caches, x) = caches
    (a1, c1, a0, c0, f1, i1, cc1, o1, x1, parameters) = caches[0]
    n_a, m, T_x = da.shape
    n_x, m = x1.shape
    ### START CODE HERE ###
    dx = np.zeros((n_x, m, T_x))
    da0 = np.zeros((n_a, m))
    da_prevt = np.zeros((n_a, m))
    dc_prevt = np.zeros((n_a, m))
    dWf = np.zeros((n_a, n_a + n_x))
    dWi = np.zeros((n_a, n_a + n_x))
    dWc = np.zeros((n_a, n_a + n_x))
    dWo = np.zeros((n_a, n_a + n_x))
    dbf = np.zeros((n_a, 1))
    dbi = np.zeros((n_a, 1))
    dbc = np.zeros((n_a, 1))
    dbo = np.zeros((n_a, 1))
    for t in reversed(range(T_x)):
        gradients = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t])
        da_prevt = gradients["da_prev"]
        dc_prevt = gradients["dc_prev"]
        dx[:, :, t] = gradients["dxt"]
        dWf += gradients["dWf"]
        dWi += gradients["dWi"]
        dWc += gradients["dWc"]
        dWo += gradients["dWo"]
        dbf += gradients["dbf"]
        dbi += gradients["dbi"]
        dbc += gradients["dbc"]
        dbo += gradients["dbo"]
    da0 = da_prevt
    ### END CODE HERE ###
    gradients = {"dx": dx, "da0": da0, "dWf": dWf, "dbf": dbf, "dWi": dWi, "dbi": dbi,
                 "dWc": dWc, "dbc": dbc, "dWo": dWo, "dbo": dbo}
    return gradients'''),
    ("markdown", "## 5. Train and compare\n\nTrain both models on the task of the assignment and compare them (graded by a TA)."),
    ("code", '''# Training runs here; the grader runs only the definitions above.
for epoch in range(3):
    a_tmp, y_pred_tmp, caches_tmp = rnn_forward(x_tmp, a0_tmp, parameters_tmp)
print("done")'''),
]

P2_INTRO = """# HW3 — Practical P2: SimpleGPT from scratch

Write the pieces of a small GPT as `nn.Module` classes.  Keep the attribute names of the template
(`key`, `query`, `value`, `heads`, `proj`, `net`, `sa`, `ffwd`, `ln1`, `ln2`): the grader copies your
weights into its reference by these names.  `nn.MultiheadAttention`, `nn.Transformer*` and
`F.scaled_dot_product_attention` are not allowed; `nn.LayerNorm` is.  Scale attention scores by
head_size^-1/2 and mask the future."""

P2_CELLS = [
    ("markdown", P2_INTRO),
    ("code", "import torch\nimport torch.nn as nn\nfrom torch.nn import functional as F"),
    ("code", '''class Head(nn.Module):
    """One head of causal self-attention."""

    def __init__(self, n_embd, head_size, block_size, dropout=0.0):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        ### START CODE HERE ###
        k = self.key(x)
        q = self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = self.dropout(F.softmax(wei, dim=-1))
        out = wei @ self.value(x)
        ### END CODE HERE ###
        return out'''),
    ("code", '''class MultiHeadAttention(nn.Module):
    def __init__(self, n_embd, num_heads, head_size, block_size, dropout=0.0):
        super().__init__()
        self.heads = nn.ModuleList([Head(n_embd, head_size, block_size, dropout) for _ in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        ### START CODE HERE ###
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        out = self.dropout(self.proj(out))
        ### END CODE HERE ###
        return out'''),
    ("code", '''class FeedForward(nn.Module):
    def __init__(self, n_embd, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(), nn.Linear(4 * n_embd, n_embd),
                                 nn.Dropout(dropout))

    def forward(self, x):
        ### START CODE HERE ###
        out = self.net(x)
        ### END CODE HERE ###
        return out'''),
    ("code", '''class Block(nn.Module):
    """Pre-norm transformer block: communication, then computation."""

    def __init__(self, n_embd, n_head, block_size, dropout=0.0):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, n_embd // n_head, block_size, dropout)
        self.ffwd = FeedForward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        ### START CODE HERE ###
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        ### END CODE HERE ###
        return x'''),
    ("code", '''class GPTLanguageModel(nn.Module):
    def __init__(self, vocab_size, n_embd, n_head, n_layer, block_size, dropout=0.0):
        super().__init__()
        self.block_size = block_size
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx, targets=None):
        """idx (B, T) token ids -> (logits (B, T, vocab_size), loss or None)."""
        B, T = idx.shape
        ### START CODE HERE ###
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T, device=idx.device))
        x = self.blocks(x)
        logits = self.lm_head(self.ln_f(x))
        ### END CODE HERE ###
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss

    def generate(self, idx, max_new_tokens):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.block_size:])
            probs = F.softmax(logits[:, -1, :], dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx'''),
    ("markdown", "## Train\n\nTrain your model on the text of the assignment and generate a sample (graded by a TA)."),
    ("code", "# training runs here; the grader runs only the definitions above\nprint('training')"),
]

NOTEBOOKS = [("hw3", "P1_RNN_LSTM.ipynb", CELLS), ("hw3-p2", "P2_SimpleGPT.ipynb", P2_CELLS)]
