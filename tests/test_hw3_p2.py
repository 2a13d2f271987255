"""The bundled hw3 P2 rubric through the real CLI: the solution earns every automatic point, a head
that sees the future and a block built on nn.MultiheadAttention lose exactly their items."""
import json
import subprocess
import zipfile

from helpers import GRADE, REPO

SOLUTION = REPO / "rubrics" / "hw3-p2" / "solution" / "P2_SimpleGPT.ipynb"


def grade_variant(tmp_path, name, old="", new=""):
    document = json.loads(SOLUTION.read_text())
    for cell in document["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = source.replace(old, new) if old else source
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("HW3/P2_SimpleGPT.ipynb", json.dumps(document))
    done = subprocess.run([*GRADE, str(path), "--rubric", "hw3-p2", "--format", "json"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {item["id"]: item for item in json.loads(done.stdout)["items"]}


def test_selftest_and_detection_stay_with_hw3():
    done = subprocess.run([*GRADE, "selftest", "hw3-p2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "13/13 automatic points" in done.stdout, done.stdout


def test_a_head_without_the_causal_mask_loses_the_attention_items(tmp_path):
    items = grade_variant(tmp_path, "HW3_Ali_Rezaei_1.zip",
                          '        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))\n', "")
    for item_id in ("p2.head", "p2.multi_head", "p2.block"):
        assert items[item_id]["status"] == "partial", items[item_id]
        assert "causal: changing token" in items[item_id]["feedback"]
    assert items["p2.no_ready_attention"]["status"] == "passed"


def test_a_ready_made_attention_is_forbidden_and_cannot_stand_in_for_the_template(tmp_path):
    items = grade_variant(tmp_path, "HW3_Reza_Karimi_2.zip",
                          "self.sa = MultiHeadAttention(n_embd, n_head, n_embd // n_head, block_size, dropout)",
                          "self.sa = nn.MultiheadAttention(n_embd, n_head, batch_first=True)")
    forbidden = items["p2.no_ready_attention"]
    assert forbidden["score"] == 0 and "torch.nn.MultiheadAttention" in forbidden["feedback"]
    assert items["p2.block"]["score"] < items["p2.block"]["points"]
    assert items["p2.head"]["status"] == "passed"
