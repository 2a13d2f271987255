"""The solution notebooks' cells for hw3 P3 (BERT) and the bonus (iTransformer), hw4 Q5 (ViT) and Q6
(Pig-Latin NMT), and hw7 Q5 (sentence reordering)."""

GRADER_NOTE = ("Write your code only between `### START CODE HERE ###` and `### END CODE HERE ###`, and keep "
               "the names of the classes, functions and attributes: the grader builds your classes, copies "
               "your weights into its reference by these names and calls your functions with its own inputs. "
               "Training cells are not run by the grader; a TA reads their outputs.")

TORCH_IMPORTS = "import math\n\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F"

# --- hw3 P3: reduced BERT ---------------------------------------------------------------------------------

BERT = [
    ("markdown", "# HW3 — Practical P3: a reduced BERT\n\n" + GRADER_NOTE),
    ("code", TORCH_IMPORTS),
    ("markdown", "## 1. Masking for the masked-language model\n\n15 % of the non-special tokens are chosen; "
                 "of those 80 % become `[MASK]`, 10 % a random token and 10 % stay. Labels are the original "
                 "token where a prediction is asked and -100 elsewhere."),
    ("code", '''def mask_tokens(input_ids, special_tokens_mask, mask_token_id, vocab_size, mlm_probability=0.15):
    """input_ids (B, N) long, special_tokens_mask (B, N) bool -> (inputs, labels), both (B, N) long."""
    input_ids = torch.as_tensor(input_ids)
    special_tokens_mask = torch.as_tensor(special_tokens_mask, dtype=torch.bool)
    labels = input_ids.clone()
    inputs = input_ids.clone()
    ### START CODE HERE ###
    probability = torch.full(labels.shape, mlm_probability).masked_fill(special_tokens_mask, 0.0)
    chosen = torch.bernoulli(probability).bool()
    labels[~chosen] = -100
    replaced = torch.bernoulli(torch.full(labels.shape, 0.8)).bool() & chosen
    inputs[replaced] = mask_token_id
    randomised = torch.bernoulli(torch.full(labels.shape, 0.5)).bool() & chosen & ~replaced
    random_words = torch.randint(vocab_size, labels.shape, dtype=torch.long)
    inputs[randomised] = random_words[randomised]
    ### END CODE HERE ###
    return inputs, labels'''),
    ("markdown", "## 2. The masked-language-model head\n\n`dense` → GELU → `layer_norm` → `decoder` (vocabulary logits)."),
    ("code", '''class MLMHead(nn.Module):
    def __init__(self, hidden_size, vocab_size):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=1e-12)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, hidden_states):
        """hidden_states (B, N, hidden_size) -> logits (B, N, vocab_size)."""
        ### START CODE HERE ###
        x = F.gelu(self.dense(hidden_states))
        x = self.layer_norm(x)
        logits = self.decoder(x)
        ### END CODE HERE ###
        return logits'''),
    ("markdown", "## 3. Sequence classification\n\nThe pooler (tanh of `pooler` on the `[CLS]` token, position 0), "
                 "dropout, then `classifier`."),
    ("code", '''class ClassificationHead(nn.Module):
    def __init__(self, hidden_size, num_labels, dropout=0.1):
        super().__init__()
        self.pooler = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden_states):
        """hidden_states (B, N, hidden_size) -> logits (B, num_labels)."""
        ### START CODE HERE ###
        pooled = torch.tanh(self.pooler(hidden_states[:, 0]))
        logits = self.classifier(self.dropout(pooled))
        ### END CODE HERE ###
        return logits'''),
    ("markdown", "## 4. Training\n\nTrain the MLM and the classifier by hand and with the Hugging Face Trainer; "
                 "report the curves and the test results (graded by a TA)."),
    ("code", "# training runs here; the grader runs only the definitions above\nprint('training')"),
]

# --- hw3 bonus: iTransformer ------------------------------------------------------------------------------

ITRANSFORMER = [
    ("markdown", "# HW3 — Bonus: Transformer and iTransformer forecasters\n\n" + GRADER_NOTE + "\n\n"
                 "`nn.Transformer*`, `nn.MultiheadAttention` and `F.scaled_dot_product_attention` are not "
                 "allowed; `nn.LayerNorm` is. A series batch is `(B, T, V)`: T time steps of V variates."),
    ("code", TORCH_IMPORTS),
    ("code", '''class InvertedEmbedding(nn.Module):
    """iTransformer's embedding: each variate's whole history becomes one token."""

    def __init__(self, seq_len, d_model):
        super().__init__()
        self.value_embedding = nn.Linear(seq_len, d_model)

    def forward(self, x):
        """x (B, T, V) -> tokens (B, V, d_model)."""
        ### START CODE HERE ###
        tokens = self.value_embedding(x.permute(0, 2, 1))
        ### END CODE HERE ###
        return tokens'''),
    ("code", '''class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x):
        """x (B, L, d_model) -> (B, L, d_model); softmax(q k^T / sqrt(d_head)) v per head."""
        B, L, D = x.shape
        H = self.n_heads
        ### START CODE HERE ###
        q = self.query(x).view(B, L, H, D // H).transpose(1, 2)
        k = self.key(x).view(B, L, H, D // H).transpose(1, 2)
        v = self.value(x).view(B, L, H, D // H).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D // H)
        context = torch.softmax(scores, dim=-1) @ v
        out = self.out(context.transpose(1, 2).reshape(B, L, D))
        ### END CODE HERE ###
        return out'''),
    ("code", '''class EncoderLayer(nn.Module):
    """Post-norm: x = norm1(x + attention(x)); x = norm2(x + ffn(x))."""

    def __init__(self, d_model, n_heads, d_ff, dropout=0.0):
        super().__init__()
        self.attention = MultiHeadSelfAttention(d_model, n_heads)
        self.norm1 = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        ### START CODE HERE ###
        x = self.norm1(x + self.dropout(self.attention(x)))
        x = self.norm2(x + self.dropout(self.ffn(x)))
        ### END CODE HERE ###
        return x'''),
    ("code", '''class ITransformer(nn.Module):
    def __init__(self, seq_len, pred_len, d_model, n_heads, d_ff, n_layers, dropout=0.0):
        super().__init__()
        self.embedding = InvertedEmbedding(seq_len, d_model)
        self.layers = nn.ModuleList([EncoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)])
        self.projection = nn.Linear(d_model, pred_len)

    def forward(self, x):
        """x (B, seq_len, V) -> forecast (B, pred_len, V)."""
        ### START CODE HERE ###
        tokens = self.embedding(x)
        for layer in self.layers:
            tokens = layer(tokens)
        forecast = self.projection(tokens).permute(0, 2, 1)
        ### END CODE HERE ###
        return forecast'''),
    ("markdown", "## Train both models\n\nTrain the Transformer and the iTransformer on the 8 exchange-rate "
                 "series and compare them (graded by a TA)."),
    ("code", "# training runs here; the grader runs only the definitions above\nprint('training')"),
]

# --- hw4 Q5: ViT -------------------------------------------------------------------------------------------

VIT = [
    ("markdown", "# HW4 — Q5: Vision Transformer\n\n" + GRADER_NOTE + "\n\nThe grader checks these pieces on "
                 "small random configurations; your experiments with vit-base-patch16-224 are read by a TA."),
    ("code", TORCH_IMPORTS),
    ("code", '''def top_k_classes(logits, k=5):
    """logits (B, C) -> (indices (B, k), probabilities (B, k)): the k most probable classes, most probable first."""
    ### START CODE HERE ###
    probabilities = torch.softmax(torch.as_tensor(logits), dim=-1)
    values, indices = probabilities.topk(k, dim=-1)
    ### END CODE HERE ###
    return indices, values'''),
    ("code", '''def attention_rollout(attentions, residual=0.5):
    """attentions: (B, heads, N, N) per layer, first layer first -> rollout (B, N, N).

    Average the heads, add the residual connection (residual * I + (1 - residual) * A), renormalise the
    rows, and multiply from the first layer up (Abnar & Zuidema, 2020)."""
    ### START CODE HERE ###
    result = None
    for layer in attentions:
        averaged = torch.as_tensor(layer).mean(dim=1)
        mixed = residual * torch.eye(averaged.shape[-1], dtype=averaged.dtype) + (1 - residual) * averaged
        mixed = mixed / mixed.sum(dim=-1, keepdim=True)
        result = mixed if result is None else mixed @ result
    ### END CODE HERE ###
    return result'''),
    ("code", '''class ViTSelfAttention(nn.Module):
    """Multi-head self-attention with Hugging Face's head_mask: one factor per head multiplies that
    head's attention probabilities (0 removes the head)."""

    def __init__(self, hidden_size, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)

    def forward(self, hidden_states, head_mask=None):
        """hidden_states (B, N, hidden_size), head_mask (num_heads,) -> (B, N, hidden_size)."""
        B, N, D = hidden_states.shape
        H = self.num_heads
        ### START CODE HERE ###
        q = self.query(hidden_states).view(B, N, H, D // H).transpose(1, 2)
        k = self.key(hidden_states).view(B, N, H, D // H).transpose(1, 2)
        v = self.value(hidden_states).view(B, N, H, D // H).transpose(1, 2)
        probs = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(D // H), dim=-1)
        if head_mask is not None:
            probs = probs * head_mask.view(1, H, 1, 1)
        context = (probs @ v).transpose(1, 2).reshape(B, N, D)
        out = self.output(context)
        ### END CODE HERE ###
        return out'''),
    ("markdown", "## Experiments\n\nTop-5 classes of your images, [CLS] attention maps, rollout, CIFAR-10 "
                 "fine-tuning and removing heads (graded by a TA)."),
    ("code", "# experiments run here; the grader runs only the definitions above\nprint('experiments')"),
]

# --- hw4 Q6: Pig-Latin NMT -----------------------------------------------------------------------------------

PIG_LATIN = [
    ("markdown", "# HW4 — Q6: English to Pig-Latin with attention\n\n" + GRADER_NOTE + "\n\nThe rule: a word "
                 "starting with a vowel gets \"way\" (impress → impressway); otherwise its first consonant "
                 "moves to the end followed by \"ay\" (team → eamtay), and the pairs sh, ch, th, wh, ph and qu "
                 "move as one block (shopping → oppingshay). Hyphenated words are translated part by part "
                 "(well-known → ellway-nownkay)."),
    ("code", TORCH_IMPORTS),
    ("code", '''VOWELS = set("aeiou")
CONSONANT_PAIRS = ("sh", "ch", "th", "wh", "ph", "qu")


def pig_latin_word(word):
    ### START CODE HERE ###
    translated = word
    if "-" in word:
        translated = "-".join(pig_latin_word(part) for part in word.split("-"))
    elif word[:1] in VOWELS:
        translated = word + "way"
    elif word:
        head = word[:2] if word[:2] in CONSONANT_PAIRS else word[:1]
        translated = word[len(head):] + head + "ay"
    ### END CODE HERE ###
    return translated


def pig_latin(sentence):
    """An English sentence -> its Pig-Latin translation, lower case, words separated by one space."""
    return " ".join(pig_latin_word(word) for word in sentence.lower().split())'''),
    ("code", '''class ScaledDotAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.Q = nn.Linear(hidden_size, hidden_size)
        self.K = nn.Linear(hidden_size, hidden_size)
        self.V = nn.Linear(hidden_size, hidden_size)
        self.softmax = nn.Softmax(dim=1)
        self.scaling_factor = torch.rsqrt(torch.tensor(self.hidden_size, dtype=torch.float))

    def forward(self, queries, keys, values):
        """queries (B, k, h) or (B, h), keys and values (B, s, h) ->
        context (B, k, h) and attention_weights (B, s, k), normalised over the s keys."""
        if queries.dim() == 2:
            queries = queries.unsqueeze(1)
        ### START CODE HERE ###
        q = self.Q(queries)
        k = self.K(keys)
        v = self.V(values)
        unnormalized_attention = torch.bmm(k, q.transpose(1, 2)) * self.scaling_factor
        attention_weights = self.softmax(unnormalized_attention)
        context = torch.bmm(attention_weights.transpose(1, 2), v)
        ### END CODE HERE ###
        return context, attention_weights'''),
    ("code", '''class CausalScaledDotAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.neg_inf = torch.tensor(-1e7)
        self.Q = nn.Linear(hidden_size, hidden_size)
        self.K = nn.Linear(hidden_size, hidden_size)
        self.V = nn.Linear(hidden_size, hidden_size)
        self.softmax = nn.Softmax(dim=1)
        self.scaling_factor = torch.rsqrt(torch.tensor(self.hidden_size, dtype=torch.float))

    def forward(self, queries, keys, values):
        """As ScaledDotAttention, but query i may not attend to a key j > i."""
        if queries.dim() == 2:
            queries = queries.unsqueeze(1)
        ### START CODE HERE ###
        q = self.Q(queries)
        k = self.K(keys)
        v = self.V(values)
        unnormalized_attention = torch.bmm(k, q.transpose(1, 2)) * self.scaling_factor
        mask = torch.tril(torch.ones_like(unnormalized_attention), diagonal=-1).bool()
        attention_weights = self.softmax(unnormalized_attention.masked_fill(mask, self.neg_inf))
        context = torch.bmm(attention_weights.transpose(1, 2), v)
        ### END CODE HERE ###
        return context, attention_weights'''),
    ("markdown", "## Decoder and runs\n\nThe decoder with scaled-dot attention, and the runs with hidden sizes "
                 "32/64 on the small and large data (graded by a TA)."),
    ("code", "# training runs here; the grader runs only the definitions above\nprint('training')"),
]

# --- hw7 Q5: words to sentence -----------------------------------------------------------------------------

SENTENCES = [
    ("markdown", "# HW7 — Q5: make a sentence from these words\n\n" + GRADER_NOTE),
    ("code", "import random\nimport re"),
    ("code", '''def split_sentences(text):
    """Persian text -> its sentences, split at . ! ? ؟ … (and any closing quote after them) and at blank
    lines; a decimal such as ۳.۱۴ or 2.5 stays whole."""
    ### START CODE HERE ###
    text = text.replace("ي", "ی").replace("ك", "ک")
    sentences = []
    for paragraph in re.split(r"\\n\\s*\\n", text):
        paragraph = " ".join(paragraph.split())
        pieces = re.split(r"(?<=[.!?؟…])\\s+|(?<=[.!?؟…][»\\"])\\s+", paragraph)
        sentences.extend(piece.strip() for piece in pieces if piece.strip())
    ### END CODE HERE ###
    return sentences'''),
    ("code", '''def build_pairs(sentences, seed=0):
    """(shuffled words, sentence) for every sentence of two or more words, in order."""
    ### START CODE HERE ###
    rng = random.Random(seed)
    pairs = []
    for sentence in sentences:
        words = sentence.split()
        if len(words) < 2:
            continue
        shuffled = words[:]
        while shuffled == words and len(set(words)) > 1:
            rng.shuffle(shuffled)
        pairs.append((" ".join(shuffled), sentence))
    ### END CODE HERE ###
    return pairs'''),
    ("code", '''def word_accuracy(predictions, references):
    """The share of the references' words that the predictions put in the same position."""
    ### START CODE HERE ###
    hits = 0
    total = 0
    for prediction, reference in zip(predictions, references):
        predicted, expected = prediction.split(), reference.split()
        hits += sum(p == e for p, e in zip(predicted, expected))
        total += len(expected)
    ### END CODE HERE ###
    return hits / total'''),
    ("markdown", "## The model\n\nTrain a transformer from scratch and show 5 test samples (graded by a TA)."),
    ("code", "# training runs here; the grader runs only the definitions above\nprint('training')"),
]

NOTEBOOKS = [("hw3-p3", "P3_BERT.ipynb", BERT), ("hw3-bonus", "Bonus_iTransformer.ipynb", ITRANSFORMER),
             ("hw4-practical", "Q5_ViT.ipynb", VIT), ("hw4-practical", "Q6_PigLatin.ipynb", PIG_LATIN),
             ("hw7-practical", "Q5_Sentences.ipynb", SENTENCES)]
