// The review page: every string that came from a student or a TA is set with textContent, never as HTML.
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const state = {items: [], item: null, view: null, current: 0, chosen: new Set(), words: {}, page: 0, warned: null};

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
    li.append(el("span", item.kind === "manual" || item.remaining ? item.remaining + " " + words.left : words.auto, "left"));
    if (item.id === state.item) li.className = "current";
    li.tabIndex = 0;  // the items are reached by keyboard too: Tab, then Enter
    li.addEventListener("click", () => openItem(item.id));
    li.addEventListener("keydown", event => { if (event.key === "Enter") { event.stopPropagation(); openItem(item.id); } });
    list.append(li);
  }
}

async function openItem(id) {
  state.item = id;
  state.view = await api("GET", "/api/item/" + encodeURIComponent(id));
  state.current = Math.min(state.current, Math.max(0, state.view.groups.length - 1));
  state.page = 0;
  state.chosen = new Set(currentGroup() ? currentGroup()[0].comment_ids : []);
  render();
  await loadItems();
}

function currentGroup() { return state.view && state.view.groups[state.current]; }

function render() {
  const view = state.view;
  document.getElementById("item-title").textContent = view.item.id + " — " + view.item.title + " (" + view.item.points + " " + state.words.points + ")";
  const about = document.getElementById("about");
  about.replaceChildren();
  if (view.item.question) about.append(el("p", state.words.question + ": " + view.item.question, "question"));
  if (view.item.guidance) about.append(el("p", state.words.guidance + ": " + view.item.guidance, "guidance"));
  about.append(el("p", state.words.doc_keys, "keys"));
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
    const proposal = group[0].status === "manual" && group[0].proposal;
    if (proposal) box.append(el("div", words.proposed + ": " + proposal.status + " " + proposal.score + " / " + view.item.points + " — " + proposal.feedback, "proposal " + (proposal.score > 0 ? "good" : "bad")));
    if (group[0].unplaced) box.append(el("div", words.not_found, "proposal bad"));
    box.append(el("div", group[0].answer || words.no_answer, "answer"));
    if (index === state.current) box.append(pages(group[0]));
    const variants = [...new Set(group.map(s => s.answer))].filter(text => text !== group[0].answer);
    for (const text of variants) box.append(el("div", text, "answer variant"));  // near-duplicates, as written
    const who = el("div", null, "students");
    for (const student of group) {
      const graded = student.status !== "manual";
      if (!graded) left += 1;
      const line = el("div", (student.name || student.key) + ": ");
      const full = student.score >= view.item.points, none = student.score <= 0;
      line.append(el("span", graded ? student.score + " / " + view.item.points : state.words.pending,
                     graded ? "score graded" + (full ? "" : none ? " zero" : " part") : "score pending"));
      if (student.source && student.source.file) line.append(el("span", " — " + state.words.read_from + " " + student.source.file + (student.source.page_in_file ? ", " + state.words.page + " " + student.source.page_in_file : ""), "where"));
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

function shownPages(student) {
  // the pages found or assigned for this answer; for an answer not found, every page the student handed in
  return student.pages || [];
}

function pages(student) {
  // the student's own page beside the answer: the grader's PNG, the region it was read from marked
  const box = el("div", null, "pages");
  const list = shownPages(student);
  if (!list.length) return box;
  state.page = Math.max(0, Math.min(state.page, list.length - 1));
  const page = list[state.page];
  box.append(el("div", state.words.page + " " + page.number + " (" + (state.page + 1) + "/" + list.length + ")" + (page.file ? " — " + page.file : ""), "page-label"));
  if (page.url) {
    const frame = el("div", null, "page");
    const image = el("img");
    image.alt = state.words.page + " " + page.number;
    image.src = page.url + "?token=" + encodeURIComponent(token);
    image.addEventListener("click", () => frame.classList.toggle("zoomed"));
    frame.append(image);
    if (page.region) {
      const mark = el("div", null, "region");
      mark.style.top = (100 * page.region[0]) + "%";
      mark.style.height = Math.max(2, 100 * (page.region[1] - page.region[0])) + "%";
      frame.append(mark);
    }
    box.append(frame);
  }
  return box;
}

async function confirmGroup() {
  const group = currentGroup();
  if (!group || !group.every(s => s.proposal && s.status === "manual")) return say(state.words.pending);
  await api("POST", "/api/confirm", {item: state.item, students: group.map(s => s.key)});
  state.current = Math.min(state.current + 1, state.view.groups.length - 1);
  await openItem(state.item);
  say(state.words.confirmed + " " + group.length);
}

async function assignPage() {
  const group = currentGroup();
  if (!group) return;
  const student = group[0], list = shownPages(student);
  if (!list.length) return;
  await api("POST", "/api/assign", {item: state.item, student: student.key, pages: [list[state.page].number]});
  await openItem(state.item);
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
      await openItem(state.item);
      say(state.words.remarked + " " + done.remarked.length);
    } catch (error) { say(error.message); }
  });
  li.replaceChildren(text, points, save);
}

async function gradeGroup() {
  const group = currentGroup();
  if (!group) return;
  if (group.some(s => !s.answer && !shownPages(s).length && s.status === "manual") && state.warned !== state.current) {
    state.warned = state.current;  // nothing to read: a second Enter, on purpose, marks them
    return say(state.words.no_evidence);
  }
  state.warned = null;
  await api("POST", "/api/mark", {item: state.item, students: group.map(s => s.key), comments: [...state.chosen]});
  state.current = Math.min(state.current + 1, state.view.groups.length - 1);
  await openItem(state.item);
  say(state.words.graded + " " + group.length);  // once the page shows it
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
      state.page = 0;
      render();
    } else if (/^[1-9]$/.test(event.key)) {
      const comment = state.view.comments[Number(event.key) - 1];
      if (comment) { state.chosen.has(comment.id) ? state.chosen.delete(comment.id) : state.chosen.add(comment.id); render(); }
    } else if (event.key === "Enter") {
      await gradeGroup();
    } else if (event.key === "c") {
      await confirmGroup();
    } else if (event.key === "[" || event.key === "]") {
      state.page += event.key === "]" ? 1 : -1;
      render();
    } else if (event.key === "a") {
      await assignPage();
    } else if (event.key === "n") {
      event.preventDefault();
      document.getElementById("comment-text").focus();
    }
  } catch (error) { say(error.message); }
});

loadItems().catch(error => say(error.message));
