// The submit page, loaded from /static/submit.js (the CSP allows no inline script).
// Every submission made in this tab keeps its own entry, its own WebSocket and its own retry timer,
// so a message for one never changes another. Data is rendered with textContent, never as HTML.
"use strict";

const storageKey = "content-moderation-submissions";
// The API is where this script came from, one level up from static/ (the page's own URL may or may not
// end in a slash): "/" locally, "/api/" under API Gateway stage api.
const base = new URL("..", document.currentScript.src);
const labels = {
  CHECKING: "Checking your article…",
  IN_REVIEW: "Waiting for a moderator…",
  APPROVED: "Published",
  REJECTED: "Rejected",
  EXPIRED: "Not reviewed in time (rejected)",
  FAILED: "Something went wrong; please resubmit",
  UNKNOWN: "The service no longer knows this submission (it was restarted or lost its data); please submit it again.",
};
const finalStatuses = new Set(["APPROVED", "REJECTED", "EXPIRED", "FAILED", "UNKNOWN"]);
// What an appeal may contest (SPEC §15), and how its outcome reads.
const appealable = new Set(["REJECTED", "EXPIRED"]);
const appealLabels = {
  overturned: "Appeal accepted: your article is published",
  upheld: "Appeal turned down: the decision stands",
};
const appealMaxCharacters = 2000;
// Reconnects back off (0.5 s, 1 s, 2 s … 30 s, with jitter) so a restarting service is not hammered.
const firstRetryMs = 500;
const maxRetryMs = 30000;
const trackers = [];

function save() {
  sessionStorage.setItem(storageKey, JSON.stringify(trackers.map((tracker) => tracker.record)));
}

function savedRecords() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(storageKey) || "[]");
    return Array.isArray(saved) ? saved.filter((record) => record && typeof record.submissionId === "string") : [];
  } catch {
    return [];
  }
}

/** Who decided, as SPEC §15's statement of reasons says it: a person, or which automatic step. */
function deciderText(record) {
  if (typeof record.automated !== "boolean") { return ""; }
  if (!record.automated) { return "Decided by a moderator"; }
  const steps = {"content-check": "the automatic content check", deadline: "the review deadline"};
  return "Decided automatically (" + (steps[record.decidedBy] || "the moderation workflow") + ")";
}

function line(className, parent) {
  const element = document.createElement("div");
  element.className = className;
  parent.append(element);
  return element;
}

/** One submission: its entry on the page, its socket, and when it next tries to reach the service. */
class Tracker {
  constructor(record) {
    this.record = record;
    this.socket = null;
    this.timer = null;
    this.retries = 0;
    this.finished = false;
    this.element = document.createElement("li");
    this.element.dataset.submissionId = record.submissionId;
    line("title", this.element).textContent = record.title || "";
    this.statusElement = line("status", this.element);
    this.statusElement.setAttribute("role", "status");
    this.reasonElement = line("reason", this.element);
    this.categoryElement = line("category", this.element);
    this.deciderElement = line("muted decided-by", this.element);
    this.appealElement = line("appeal", this.element);
    this.connectionElement = line("connection", this.element);
    this.connectionElement.setAttribute("aria-live", "polite");
    line("muted submission-id", this.element).textContent = "Submission " + record.submissionId;
    this.render();
  }

  get id() {
    return this.record.submissionId;
  }

  render() {
    const status = this.record.status || "CHECKING";
    this.element.className = "submission " + status;
    this.statusElement.textContent = labels[status] || status;
    if (this.record.appeal && appealLabels[this.record.appeal]) {
      this.statusElement.textContent = appealLabels[this.record.appeal];
    } else if (this.record.appealId && status === "IN_REVIEW") {
      this.statusElement.textContent = "Appealed: waiting for another moderator…";
    }
    this.reasonElement.textContent = this.record.reason ? "Reason: " + this.record.reason : "";
    this.categoryElement.textContent = this.record.category ? "Category: " + this.record.category : "";
    this.deciderElement.textContent = deciderText(this.record);
    this.renderAppeal();
  }

  /** "Appeal" on a rejected or expired submission made in this tab (it holds the submitter token), once. */
  renderAppeal() {
    const offer = appealable.has(this.record.status) && this.record.submitterToken && !this.record.appealId;
    if (!offer) { this.appealElement.replaceChildren(); return; }
    if (this.appealElement.firstChild) { return; } // keep what the author is typing
    const open = document.createElement("button");
    open.type = "button";
    open.className = "appeal-open";
    open.textContent = "Appeal";
    open.addEventListener("click", () => this.openAppeal(open));
    this.appealElement.append(open);
  }

  openAppeal(open) {
    const form = document.createElement("form");
    form.className = "appeal-form";
    const label = document.createElement("label");
    const message = document.createElement("textarea");
    message.id = "appeal-message-" + this.id;
    message.maxLength = appealMaxCharacters;
    message.required = true;
    label.htmlFor = message.id;
    label.textContent = "Why should the decision change? Another moderator will read this.";
    const send = document.createElement("button");
    send.type = "submit";
    send.textContent = "Send appeal";
    const error = document.createElement("p");
    error.className = "appeal-error";
    error.setAttribute("role", "alert");
    form.append(label, message, send, error);
    form.addEventListener("submit", (event) => { event.preventDefault(); this.sendAppeal(message, send, error); });
    open.replaceWith(form);
    message.focus();
  }

  async sendAppeal(message, send, error) {
    error.textContent = "";
    if (!message.value.trim()) { error.textContent = "Please write why."; return; }
    send.disabled = true;
    try {
      const response = await fetch(new URL("submissions/" + encodeURIComponent(this.id) + "/appeal", base), {
        method: "POST",
        headers: {"Content-Type": "application/json", "Authorization": "Bearer " + this.record.submitterToken},
        body: JSON.stringify({message: message.value}),
      });
      const result = await response.json().catch(() => ({}));
      if (!response.ok) {
        error.textContent = result.error ? result.error.message : "The service answered " + response.status;
        return;
      }
      this.record.appealId = result.appealId;
      this.reopen(result.status || "IN_REVIEW");
    } catch {
      error.textContent = "The service cannot be reached; please try again.";
    } finally {
      send.disabled = false;
    }
  }

  /** Follow the submission live again: its appeal is a new review with its own outcome. */
  reopen(status) {
    this.finished = false;
    this.retries = 0;
    this.show(status);
    this.connect();
  }

  /** ``outcome``: the message or submission's statement of reasons (reason, category, decidedBy, automated). */
  show(status, outcome = {}) {
    if (this.finished || typeof status !== "string") { return; }
    this.record.status = status;
    for (const key of ["reason", "category", "decidedBy"]) {
      this.record[key] = typeof outcome[key] === "string" ? outcome[key] : undefined;
    }
    this.record.automated = typeof outcome.automated === "boolean" ? outcome.automated : undefined;
    if (typeof outcome.appeal === "string") { this.record.appeal = outcome.appeal; }
    this.render();
    save();
  }

  finish(status, outcome) {
    this.show(status, outcome);
    this.finished = true;
    this.stop();
  }

  forget() {
    this.finish("UNKNOWN");
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.setConnection("");
    if (this.socket) { this.socket.close(); }
  }

  setConnection(text) {
    this.connectionElement.textContent = text;
  }

  /** Resume after a reload: final outcomes are history; anything else is checked with the service. */
  resume() {
    if (finalStatuses.has(this.record.status)) {
      this.finished = true;
    } else {
      this.check();
    }
  }

  connect() {
    if (this.finished) { return; }
    if (!this.record.websocketUrl) { this.retryLater("No live connection is configured"); return; }
    const url = new URL(this.record.websocketUrl);
    url.searchParams.set("submissionId", this.id);
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.retries = 0;
      this.setConnection("");
      socket.send(JSON.stringify({action: "subscribe", submissionId: this.id}));
    };
    socket.onmessage = (event) => this.receive(event.data);
    // API Gateway closes idle sockets after 10 minutes, reviews take days, and services restart.
    socket.onclose = () => {
      if (this.socket === socket) { this.socket = null; }
      if (!this.finished) { this.retryLater("The live connection is down"); }
    };
  }

  receive(data) {
    let message;
    try { message = JSON.parse(data); } catch { return; }
    if (!message || (message.submissionId !== undefined && message.submissionId !== this.id)) { return; }
    if (message.type === "status") {
      this.show(message.status, message);
    } else if (message.type === "decision" && typeof message.decision === "string") {
      // Before an appeal, the decision of the first review; after one, only the appeal's outcome counts.
      if (this.record.appealId && !message.appeal) { return; }
      this.finish(message.decision.toUpperCase(), message);
    } else if (message.type === "error" && String(message.message).startsWith("no submission")) {
      this.forget();
    }
  }

  retryLater(why) {
    const delay = Math.min(maxRetryMs, firstRetryMs * 2 ** this.retries) * (0.8 + Math.random() * 0.4);
    this.retries += 1;
    this.setConnection(why + "; trying again in " + Math.max(1, Math.round(delay / 1000)) + " s…");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), delay);
  }

  retryNow() {
    if (this.finished || !this.timer) { return; }
    clearTimeout(this.timer);
    this.timer = null;
    this.check();
  }

  /** Ask the REST API first: it tells a decided or forgotten submission apart from a dropped socket. */
  async check() {
    this.timer = null;
    if (this.finished) { return; }
    let response;
    try {
      response = await fetch(new URL("submissions/" + encodeURIComponent(this.id), base), {cache: "no-store"});
    } catch {
      this.retryLater("The service cannot be reached");
      return;
    }
    if (response.status === 404 || response.status === 400) { this.forget(); return; }
    const submission = response.ok ? await response.json().catch(() => null) : null;
    if (!submission || typeof submission.status !== "string") {
      this.retryLater("The service answered " + response.status);
      return;
    }
    if (typeof submission.appealId === "string") { this.record.appealId = submission.appealId; }
    if (finalStatuses.has(submission.status)) {
      this.finish(submission.status, submission);
    } else {
      this.show(submission.status, submission);
      this.connect();
    }
  }
}

function track(record) {
  const tracker = new Tracker(record);
  trackers.push(tracker);
  document.getElementById("submissions").prepend(tracker.element);  // newest first
  document.getElementById("submissions-heading").hidden = false;
  document.getElementById("submissions-note").hidden = false;
  return tracker;
}

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button[type=submit]");
  const formError = document.getElementById("form-error");
  const title = document.getElementById("title").value;
  const payload = {title};
  const body = document.getElementById("body").value;
  if (body) { payload.body = body; }
  formError.textContent = "";
  button.disabled = true;
  try {
    const response = await fetch(new URL("submissions", base), {
      method: "POST",
      headers: {"Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID()},
      body: JSON.stringify(payload),
    });
    const result = await response.json().catch(() => ({}));
    if (!response.ok) {
      formError.textContent = result.error ? result.error.message : "The service answered " + response.status;
      return;
    }
    // The submitter token proves this tab made the submission (an appeal needs it); it lives only here.
    const tracker = track({
      submissionId: result.submissionId, title, websocketUrl: result.websocketUrl, status: result.status,
      submitterToken: result.submitterToken,
    });
    save();
    form.reset();
    tracker.connect();
  } catch {
    formError.textContent = "The service cannot be reached; please try again.";
  } finally {
    button.disabled = false;
  }
}

document.getElementById("submit-form").addEventListener("submit", submit);
window.addEventListener("online", () => trackers.forEach((tracker) => tracker.retryNow()));
for (const record of savedRecords()) {
  track(record).resume();
}
