// The review page: every string that came from a student or a TA is set with textContent, never as HTML.
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const state = {items: [], item: null, view: null, current: 0, chosen: new Set(), words: {}};

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

async function api(method, path, body) {
  const response = await fetch(path, {method, headers: {"X-Review-Token": token, "Content-Type": "application/json"},
                                      body: body ? JSON.stringify(body) : undefined});
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function say(text) { document.getElementById("status").textContent = text; }

async function loadItems() {
  const data = await api("GET", "/api/items");
  state.items = data.items;
  const words = state.words = data.labels;
  document.documentElement.lang = data.language;
  document.documentElement.dir = data.rtl ? "rtl" : "ltr";
  for (const [id, key] of [["items-heading", "items"], ["comments-heading", "comments"], ["groups-heading", "groups"],
                           ["add", "add"], ["keys", "keys"]]) document.getElementById(id).textContent = words[key];
  if (!state.item) document.getElementById("item-title").textContent = words.pick;
  document.getElementById("comment-text").placeholder = words.comment;
  document.getElementById("comment-points").placeholder = words.points;
  document.getElementById("rubric").textContent = data.rubric;
  document.getElementById("who").textContent = words.grading_as + " " + data.grader;
  const list = document.getElementById("items");
  list.replaceChildren();
  for (const item of data.items) {
    const li = el("li", item.id + " — " + item.title);
    li.dataset.item = item.id;
    li.append(el("span", item.kind === "manual" ? item.remaining + " " + words.left : words.auto, "left"));
    if (item.id === state.item) li.className = "current";
    li.addEventListener("click", () => openItem(item.id));
    list.append(li);
  }
}

async function openItem(id) {
  state.item = id;
  state.view = await api("GET", "/api/item/" + encodeURIComponent(id));
  state.current = Math.min(state.current, Math.max(0, state.view.groups.length - 1));
  state.chosen = new Set(currentGroup() ? currentGroup()[0].comment_ids : []);
  render();
  await loadItems();
}

function currentGroup() { return state.view && state.view.groups[state.current]; }

function render() {
  const view = state.view;
  document.getElementById("item-title").textContent = view.item.id + " — " + view.item.title + " (" + view.item.points + " " + state.words.points + ")";
  const comments = document.getElementById("comments");
  comments.replaceChildren();
  view.comments.forEach((comment, index) => {
    const li = el("li", (comment.points >= 0 ? "+" : "") + comment.points + "  " + comment.text);
    li.dataset.comment = comment.id;
    li.title = "key " + (index + 1);
    if (state.chosen.has(comment.id)) li.className = "on";
    const edit = el("button", state.words.edit, "edit");
    edit.addEventListener("click", () => editComment(li, comment));
    li.append(" ", edit);
    comments.append(li);
  });
  const groups = document.getElementById("groups");
  groups.replaceChildren();
  let left = 0;
  view.groups.forEach((group, index) => {
    const box = el("div", null, "group" + (index === state.current ? " current" : ""));
    box.dataset.group = index;
    const words = state.words;
    box.append(el("div", group.length + " " + (group.length === 1 ? words.student : words.students), "students"));
    box.append(el("div", group[0].answer || words.no_answer, "answer"));
    const variants = [...new Set(group.map(s => s.answer))].filter(text => text !== group[0].answer);
    for (const text of variants) box.append(el("div", text, "answer variant"));  // near-duplicates, as written
    const who = el("div", null, "students");
    for (const student of group) {
      const graded = student.status !== "manual";
      if (!graded) left += 1;
      const line = el("div", (student.name || student.key) + ": ");
      line.append(el("span", graded ? student.score + " / " + view.item.points : state.words.pending, graded ? "score graded" : "score pending"));
      if (student.automatic && student.feedback) line.append(el("span", " — " + student.feedback, "auto-feedback"));
      if (student.evidence) {  // the student's notebook, as the batch wrote it: outputs and plots, inert
        const link = el("a", " " + state.words.notebook);
        link.href = student.evidence + "?token=" + encodeURIComponent(token);
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        line.append(link);
      }
      who.append(line);
    }
    box.append(who);
    box.addEventListener("click", () => { state.current = index; state.chosen = new Set(group[0].comment_ids); render(); });
    groups.append(box);
  });
  document.getElementById("progress").textContent = "(" + left + " " + state.words.answers_left + ")";
}

function editComment(li, comment) {
  // change a rubric entry: every student it was applied to is marked again
  const text = el("input"), points = el("input"), save = el("button", state.words.save, "save");
  text.value = comment.text; text.size = 40;
  points.type = "number"; points.step = "0.25"; points.value = comment.points; points.className = "points";
  save.addEventListener("click", async () => {
    try {
      const done = await api("POST", "/api/comment/edit", {item: state.item, id: comment.id, text: text.value,
                                                           points: Number(points.value)});
      say(state.words.remarked + " " + done.remarked.length);
      await openItem(state.item);
    } catch (error) { say(error.message); }
  });
  li.replaceChildren(text, points, save);
}

async function gradeGroup() {
  const group = currentGroup();
  if (!group) return;
  await api("POST", "/api/mark", {item: state.item, students: group.map(s => s.key), comments: [...state.chosen]});
  say(state.words.graded + " " + group.length);
  state.current = Math.min(state.current + 1, state.view.groups.length - 1);
  await openItem(state.item);
}

document.getElementById("new-comment").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = document.getElementById("comment-text"), points = document.getElementById("comment-points");
  await api("POST", "/api/comment", {item: state.item, text: text.value, points: Number(points.value || 0)});
  text.value = ""; points.value = "";
  await openItem(state.item);
});

document.addEventListener("keydown", async (event) => {
  if (!state.view || event.target.tagName === "INPUT") return;
  try {
    if (event.key === "j" || event.key === "k") {
      state.current = Math.max(0, Math.min(state.view.groups.length - 1, state.current + (event.key === "j" ? 1 : -1)));
      state.chosen = new Set(currentGroup()[0].comment_ids);
      render();
    } else if (/^[1-9]$/.test(event.key)) {
      const comment = state.view.comments[Number(event.key) - 1];
      if (comment) { state.chosen.has(comment.id) ? state.chosen.delete(comment.id) : state.chosen.add(comment.id); render(); }
    } else if (event.key === "Enter") {
      await gradeGroup();
    } else if (event.key === "n") {
      event.preventDefault();
      document.getElementById("comment-text").focus();
    }
  } catch (error) { say(error.message); }
});

loadItems().catch(error => say(error.message));
