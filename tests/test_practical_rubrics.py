"""The bundled practical rubrics through the real CLI: each solution earns every automatic point, each
template nothing, and each planted bug is caught by the item it belongs to and by no independent item."""
import json
import subprocess

import pytest

from helpers import GRADE, REPO, solution_variant

RUBRICS = REPO / "rubrics"
COLA_DATA = RUBRICS / "hw7-practical" / "examples" / "data"


def grade(zip_path, rubric_id, *extra):
    done = subprocess.run([*GRADE, str(zip_path), "--rubric", rubric_id, "--format", "json", *extra],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {item["id"]: item for item in json.loads(done.stdout)["items"]}


def graded_variant(tmp_path, rubric_id, edits, *extra, files=None, name="HW_Test_Student_1.zip"):
    zip_path = solution_variant(RUBRICS / rubric_id, tmp_path / name, edits, files)
    return grade(zip_path, rubric_id, *extra)


def assert_only(items, wrong: set[str]):
    """Exactly the ``wrong`` automatic items lost points; every other automatic item earned full marks."""
    for item_id, item in items.items():
        if item["status"] == "manual":
            continue
        if item_id in wrong:
            assert item["score"] < item["points"], (item_id, item)
        else:
            assert item["score"] == item["points"], (item_id, item)


@pytest.mark.parametrize("rubric_id, extra, earned", [
    ("hw3-p3", [], "13/13"), ("hw3-bonus", [], "8/8"), ("hw4-practical", [], "21/21"),
    ("hw7-practical", ["--data", str(COLA_DATA)], "16/16")])
def test_selftest_gives_the_solution_every_automatic_point_and_the_template_none(rubric_id, extra, earned):
    done = subprocess.run([*GRADE, "selftest", rubric_id, *extra], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"earns {earned} automatic points and the templates earn nothing" in " ".join(done.stdout.split())


def test_hw7_selftest_without_the_labels_says_which_item_it_could_not_test():
    done = subprocess.run([*GRADE, "selftest", "hw7-practical"], capture_output=True, text=True, timeout=300)
    text = " ".join(done.stdout.split())
    assert done.returncode == 0 and "q2.cola_mcc not tested" in text and "10/10" in text, text


# --- hw3 P3: BERT ---------------------------------------------------------------------------------------

def test_bert_masking_special_tokens_is_caught_by_the_masking_item_only(tmp_path):
    items = graded_variant(tmp_path, "hw3-p3", [(".masked_fill(special_tokens_mask, 0.0)", "")])
    assert_only(items, {"p3.masking"})
    assert "special tokens" in items["p3.masking"]["feedback"]


def test_bert_masking_every_chosen_token_is_caught_with_the_proportions(tmp_path):
    items = graded_variant(tmp_path, "hw3-p3", [("replaced = torch.bernoulli(torch.full(labels.shape, 0.8)).bool() & chosen",
                                                 "replaced = chosen")])
    assert_only(items, {"p3.masking"})
    assert "became [MASK], expected 80%" in items["p3.masking"]["feedback"]


def test_bert_heads_layer_norm_before_gelu_and_mean_pooling(tmp_path):
    items = graded_variant(tmp_path, "hw3-p3", [
        ("x = F.gelu(self.dense(hidden_states))\n        x = self.layer_norm(x)",
         "x = self.layer_norm(self.dense(hidden_states))\n        x = F.gelu(x)")])
    assert_only(items, {"p3.mlm_head"})
    items = graded_variant(tmp_path, "hw3-p3", [("self.pooler(hidden_states[:, 0])", "self.pooler(hidden_states.mean(dim=1))")],
                           name="HW_Test_Student_2.zip")
    assert_only(items, {"p3.classifier"})
    assert "values: case" in items["p3.classifier"]["feedback"]


# --- hw3 bonus: iTransformer --------------------------------------------------------------------------

def test_itransformer_scaled_by_d_instead_of_its_root_loses_attention_and_the_model(tmp_path):
    items = graded_variant(tmp_path, "hw3-bonus", [("/ math.sqrt(D // H)", "/ (D // H)")])
    assert_only(items, {"bonus.attention", "bonus.itransformer"})  # the model is built from that attention


def test_itransformer_embedding_over_time_steps_is_caught(tmp_path):
    items = graded_variant(tmp_path, "hw3-bonus", [("self.value_embedding(x.permute(0, 2, 1))",
                                                    "self.value_embedding(x.transpose(1, 2).flip(1))")])
    assert_only(items, {"bonus.embedding", "bonus.itransformer"})


def test_ready_made_attention_loses_exactly_the_forbidden_item_with_its_line(tmp_path):
    items = graded_variant(tmp_path, "hw3-bonus", [(
        "scores = q @ k.transpose(-2, -1) / math.sqrt(D // H)\n        context = torch.softmax(scores, dim=-1) @ v",
        "context = F.scaled_dot_product_attention(q, k, v)")])
    assert_only(items, {"bonus.no_ready_attention"})
    feedback = items["bonus.no_ready_attention"]["feedback"]
    assert items["bonus.no_ready_attention"]["score"] == 0
    assert "scaled_dot_product_attention" in feedback and "line" in feedback, feedback


# --- hw4: ViT and Pig-Latin ---------------------------------------------------------------------------------

def test_attention_scaled_by_d_instead_of_its_root_is_caught_by_its_item_only(tmp_path):
    items = graded_variant(tmp_path, "hw4-practical", [
        ("unnormalized_attention = torch.bmm(k, q.transpose(1, 2)) * self.scaling_factor\n        attention_weights = self.softmax(unnormalized_attention)",
         "unnormalized_attention = torch.bmm(k, q.transpose(1, 2)) / self.hidden_size\n        attention_weights = self.softmax(unnormalized_attention)")])
    assert_only(items, {"q6.scaled_dot_attention"})


@pytest.mark.parametrize("edit", [
    ("diagonal=-1", "diagonal=0"),  # the mask shifted by one: a query cannot see itself
    ("attention_weights = self.softmax(unnormalized_attention.masked_fill(mask, self.neg_inf))",
     "attention_weights = self.softmax(unnormalized_attention).masked_fill(mask, 0.0)"),  # after the softmax
], ids=["shifted", "after-softmax"])
def test_causal_mask_bugs_are_caught_by_the_causal_item_only(tmp_path, edit):
    items = graded_variant(tmp_path, "hw4-practical", [edit])
    assert_only(items, {"q6.causal_attention"})


def test_vit_head_mask_before_the_softmax_rollout_without_renormalising_and_pig_latin_pairs(tmp_path):
    items = graded_variant(tmp_path, "hw4-practical", [
        ("probs = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(D // H), dim=-1)\n        if head_mask is not None:\n            probs = probs * head_mask.view(1, H, 1, 1)",
         "scores = q @ k.transpose(-2, -1) / math.sqrt(D // H)\n        if head_mask is not None:\n            scores = scores * head_mask.view(1, H, 1, 1)\n        probs = torch.softmax(scores, dim=-1)")])
    assert_only(items, {"q5.head_mask"})
    items = graded_variant(tmp_path, "hw4-practical", [("mixed = mixed / mixed.sum(dim=-1, keepdim=True)\n", "")],
                           name="HW_Test_Student_2.zip")
    assert_only(items, {"q5.rollout"})
    items = graded_variant(tmp_path, "hw4-practical", [("word[:2] if word[:2] in CONSONANT_PAIRS else word[:1]", "word[:1]")],
                           name="HW_Test_Student_3.zip")
    assert_only(items, {"q6.pig_latin"})
    assert "expected '" in items["q6.pig_latin"]["feedback"]


# --- hw7: sentences and CoLA ----------------------------------------------------------------------------------

def test_splitter_that_knows_only_the_period_and_a_builder_that_does_not_shuffle(tmp_path):
    data = ["--data", str(COLA_DATA)]
    items = graded_variant(tmp_path, "hw7-practical", [("[.!?؟…]", "[.]"), ("[.!?؟…]", "[.]")], *data)
    assert_only(items, {"q5.split"})
    assert "sentences, expected" in items["q5.split"]["feedback"] or "should be" in items["q5.split"]["feedback"]
    items = graded_variant(tmp_path, "hw7-practical", [("while shuffled == words", "while False")], *data,
                           name="HW_Test_Student_2.zip")
    assert_only(items, {"q5.dataset"})
    assert "not shuffled" in items["q5.dataset"]["feedback"]


def test_cola_predictions_with_a_missing_id_or_a_low_mcc(tmp_path):
    rows = (RUBRICS / "hw7-practical" / "solution" / "cola_predictions.csv").read_text().splitlines()
    missing = "\n".join(rows[:-1]) + "\n"
    items = graded_variant(tmp_path, "hw7-practical", [], "--data", str(COLA_DATA),
                           files={"cola_predictions.csv": missing})
    assert items["q2.cola_mcc"]["status"] == "error" and "no prediction for 1 id(s): ood_0515" in items["q2.cola_mcc"]["feedback"]
    constant = rows[0] + "\n" + "".join(row.split(",")[0] + ",1\n" for row in rows[1:])
    items = graded_variant(tmp_path, "hw7-practical", [], "--data", str(COLA_DATA),
                           files={"cola_predictions.csv": constant}, name="HW_Test_Student_2.zip")
    assert items["q2.cola_mcc"]["score"] == 0 and "MCC = 0.0000" in items["q2.cola_mcc"]["feedback"]
    assert_only(items, {"q2.cola_mcc"})
