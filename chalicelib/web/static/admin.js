// The reviewers' dashboard, loaded from /static/admin.js (the CSP allows no inline script).
// The queue is loaded once in the chosen order (GET /reviews?status=pending&order=oldest|newest|risk|deadline,
// reloaded when the order changes) and then kept current by the review events the WebSocket pushes
// (watchReviews), a new review inserted at its place in that order; a dropped socket reconnects with
// backoff and reloads the list.
// Opening a review claims it (POST /reviews/{id}/claim), renews the claim while it stays open and
// releases it on close, so others see "alice is reviewing" in their queue (SPEC §14). Several
// reviews can be selected and decided at once (POST /reviews/decisions).
// Everything a submitter or reviewer wrote is rendered with textContent, never as HTML.
"use strict";

const tokenKey = "content-moderation-reviewer-token";
// The API is where this script came from, one level up from static/ (the page's own URL may or may not
// end in a slash): "/" locally, "/api/" under API Gateway stage api.
const base = new URL("..", document.currentScript.src);
const firstRetryMs = 500;
const maxRetryMs = 30000;
const pageSize = 50;
const maxQueuePages = 10;
// A risk score at or above this is marked (the service's default RISK_REVIEW_THRESHOLD, SPEC §13).
const highRisk = 0.5;
const maxListedLabels = 3;
// A claim is renewed every third of its life (CLAIM_SECONDS / 3), never more often than this.
const minClaimRenewalMs = 5000;

const state = {
  token: null,
  reviewer: null, // {name, role} from the "watching" reply
  socket: null,
  retries: 0,
  retryTimer: null,
  queue: new Map(), // reviewId -> review, in queueOrder (insertion order)
  queueOrder: "oldest", // oldest, newest, risk (highest first) or deadline (soonest first)
  queueComplete: false,
  queueNextToken: null,
  queueGeneration: 0, // which load of the queue is current: a reload (new order) makes older ones stale
  loading: false,
  buffered: [], // events that arrive while the queue loads, applied after it
  decidedStatus: "decided",
  decidedNextToken: null,
  opened: null, // the review shown in full
  claim: null, // {reviewId, expiresAt, timer}: the opened review, held by this reviewer
  selected: new Set(), // reviewIds of the queue ticked for a bulk decision
  openedFrom: null, // the element to give focus back to when it closes
};

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined && text !== null) { node.textContent = String(text); }
  return node;
}

function announce(text) {
  $("announcer").textContent = "";
  // A fresh text node each time, so screen readers read a repeated message again.
  requestAnimationFrame(() => { $("announcer").textContent = text; });
}

// --- time ------------------------------------------------------------------------------

const relative = new Intl.RelativeTimeFormat(undefined, {numeric: "auto"});
const units = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

function fromNow(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return relative.format(Math.round(seconds / size), unit);
    }
  }
  return "";
}

function timeElement(iso, prefix) {
  const node = element("time", "when", (prefix || "") + fromNow(iso));
  node.dateTime = iso;
  node.dataset.prefix = prefix || "";
  node.title = new Date(iso).toLocaleString();
  return node;
}

function refreshTimes() {
  for (const node of document.querySelectorAll("time.when")) {
    node.textContent = node.dataset.prefix + fromNow(node.dateTime);
  }
}

// --- the API ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || null;
  }
}

async function api(path, {method = "GET", body} = {}) {
  const headers = {"Authorization": "Bearer " + state.token};
  if (body !== undefined) { headers["Content-Type"] = "application/json"; }
  let response;
  try {
    response = await fetch(new URL(path, base), {
      method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "The service cannot be reached.");
  }
  const result = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = result.error ? result.error.message : "The service answered " + response.status + ".";
    if (response.status === 401 && state.reviewer) {
      signOut("Your token is no longer accepted (it may have been revoked). Sign in again.");
    }
    throw new ApiError(response.status, message, result.error ? result.error.code : null);
  }
  return result;
}

function reviewsPath(status, order, nextToken) {
  const query = new URLSearchParams({status, limit: String(pageSize)});
  if (order) { query.set("order", order); }
  if (nextToken) { query.set("nextToken", nextToken); }
  return "reviews?" + query;
}

// --- signing in and the live connection --------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  $("sign-in-error").textContent = "";
  if (!token) { return; }
  state.token = token;
  try {
    await api(reviewsPath("pending", "oldest")); // refuses a wrong token (401) before anything is shown
  } catch (error) {
    state.token = null;
    $("sign-in-error").textContent = error.status === 401
      ? "That token was not accepted. Check it, or ask an admin for a new one."
      : error.message;
    return;
  }
  sessionStorage.setItem(tokenKey, token);
  $("token").value = "";
  start();
}

// The categories a rejection may name (GET /rejection-categories); "other" until they are loaded.
async function loadCategories() {
  try {
    const response = await fetch(new URL("rejection-categories", base), {cache: "no-store"});
    const categories = await response.json();
    if (!Array.isArray(categories.items) || !categories.items.length) { return; }
    const select = $("category");
    select.replaceChildren(...categories.items.map((name) => {
      const option = element("option", "", name);
      option.value = name;
      return option;
    }));
    select.value = categories.default;
  } catch {
    // The select keeps "other", which every deployment offers.
  }
}

function start() {
  loadCategories();
  $("sign-in").hidden = true;
  $("session").hidden = false;
  $("workspace").hidden = false;
  $("who").textContent = "Signing in…";
  state.queueOrder = $("queue-order").value; // a reloaded page may keep the select's last choice
  connect();
  loadDecided(false);
}

function signOut(why) {
  releaseClaim();
  sessionStorage.removeItem(tokenKey);
  clearTimeout(state.retryTimer);
  const socket = state.socket;
  state.socket = null;
  if (socket) { socket.close(); }
  state.queueGeneration += 1; // a queue load in flight is for the previous session
  Object.assign(state, {
    token: null, reviewer: null, retries: 0, retryTimer: null, queue: new Map(), buffered: [], opened: null,
    selected: new Set(),
  });
  closeReview();
  for (const id of ["queue", "decided", "reviewers", "history"]) { $(id).replaceChildren(); }
  $("workspace").hidden = true;
  $("session").hidden = true;
  $("team").hidden = true;
  $("new-token").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = typeof why === "string" ? why : "";
  $("token").focus();
}

let websocketUrl = null;

async function connect() {
  if (!state.token) { return; }
  setLive("Connecting…", "connecting");
  try {
    if (!websocketUrl) {
      const response = await fetch(new URL("websocket-url", base), {cache: "no-store"});
      websocketUrl = (await response.json()).websocketUrl;
    }
  } catch {
    retryLater("The service cannot be reached");
    return;
  }
  if (!websocketUrl) {
    setLive("No live connection is configured", "down");
    await loadQueue(); // still usable: the list as it is now
    return;
  }
  const socket = new WebSocket(websocketUrl);
  state.socket = socket;
  socket.onopen = () => socket.send(JSON.stringify({action: "watchReviews", token: state.token}));
  socket.onmessage = (message) => { if (state.socket === socket) { receive(message.data); } };
  // API Gateway closes idle sockets after 10 minutes, and services restart: come back and catch up.
  socket.onclose = () => {
    if (state.socket !== socket) { return; }
    state.socket = null;
    if (state.token) { retryLater("The live connection is down"); }
  };
}

function retryLater(why) {
  const delay = Math.min(maxRetryMs, firstRetryMs * 2 ** state.retries) * (0.8 + Math.random() * 0.4);
  state.retries += 1;
  setLive(why + "; trying again in " + Math.max(1, Math.round(delay / 1000)) + " s", "down");
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(connect, delay);
}

function setLive(text, kind) {
  $("live").textContent = text;
  $("live").className = "live " + kind;
}

function receive(data) {
  let message;
  try { message = JSON.parse(data); } catch { return; }
  if (!message) { return; }
  if (message.type === "watching") {
    state.retries = 0;
    state.reviewer = {name: message.reviewer, role: message.role};
    $("who").replaceChildren("Signed in as ", element("strong", "", message.reviewer), " (" + message.role + ")");
    setLive("Live", "up");
    $("team").hidden = message.role !== "admin";
    if (message.role === "admin") { loadReviewers(); }
    loadQueue(); // after subscribing, so no event falls between the list and the live updates
    loadStats();
  } else if (message.type === "error") {
    signOut("The live queue refused this token: " + (message.message || "sign in again") + ".");
  } else if (message.type === "review" && message.review) {
    if (state.loading) { state.buffered.push(message); } else { apply(message); }
    statsChanged();
  }
}

function apply(message) {
  const review = message.review;
  if (message.event === "created") {
    if (!state.queue.has(review.reviewId) && insertInOrder(review)) { renderQueue(); }
  } else if (message.event === "claimed" || message.event === "released") {
    // The same place in the queue (Map.set keeps it): only who is reviewing it changed.
    if (state.queue.has(review.reviewId)) {
      state.queue.set(review.reviewId, review);
      renderQueue();
    }
    if (state.opened && state.opened.reviewId === review.reviewId) { claimChanged(review); }
  } else if (message.event === "due_soon") {
    // Only marks a review still in the queue: one decided meanwhile is not brought back.
    if (state.queue.has(review.reviewId)) { state.queue.set(review.reviewId, review); renderQueue(); }
  } else if (message.event === "decided" || message.event === "expired") {
    state.selected.delete(review.reviewId);
    if (state.queue.delete(review.reviewId)) { renderQueue(); }
    if (state.decidedStatus === "decided" || state.decidedStatus === (review.decision || "").toLowerCase()) {
      addDecided(review);
    }
    if (state.opened && state.opened.reviewId === review.reviewId) { decidedMeanwhile(review); }
  }
}

// --- the figures (GET /stats) --------------------------------------------------------

// A burst of review events (a bulk decision, many submissions) reloads the figures once.
const statsRefreshDelayMs = 1000;
let statsTimer = null;

function statsChanged() {
  if (statsTimer === null) { statsTimer = setTimeout(() => { statsTimer = null; loadStats(); }, statsRefreshDelayMs); }
}

async function loadStats() {
  let stats;
  try { stats = await api("stats"); } catch (error) {
    $("stats-status").textContent = "Figures unavailable: " + error.message;
    $("stats-status").hidden = false;
    return;
  }
  $("stats-status").hidden = true;
  renderStats(stats);
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) { return "–"; }
  const [unit, size] = units.find(([, size]) => seconds >= size) || units[units.length - 1];
  return Math.round(seconds / size) + " " + unit + (Math.round(seconds / size) === 1 ? "" : "s");
}

function renderStats(stats) {
  const day = stats.last24h;
  const figures = [
    ["Pending", stats.pending],
    ["Oldest waiting", duration(stats.oldestPendingAgeSeconds)],
    ["Submitted (24 h)", day.submitted],
    ["Flagged (24 h)", day.flagged],
    ["Approved (24 h)", day.approved],
    ["Rejected (24 h)", day.rejected],
    ["Expired (24 h)", day.expired],
    ["Appealed (24 h)", day.appealed],
    ["Rate limited (24 h)", day.rateLimited],
    ["Notifications skipped (24 h)", day.notificationsSkipped],
    ["Median time to decision (24 h)", duration(stats.medianTimeToDecisionSeconds24h)],
  ];
  $("stats-figures").replaceChildren(...figures.map(([label, value]) => {
    const figure = element("div", "");
    figure.append(element("dt", "", label), element("dd", "", String(value)));
    return figure;
  }));
  const reviewers = stats.byReviewer7d.map((entry) => entry.name + " " + entry.decisions);
  $("stats-reviewers").textContent = "Decisions in the last 7 days: " + (reviewers.join(", ") || "none yet") + ".";
}

// --- the queue -------------------------------------------------------------------------

/** Load the queue (or its next pages): true if it loaded, false if it failed, undefined if a newer load took over. */
async function loadQueue(more) {
  const order = state.queueOrder;
  if (!more) {
    state.queueGeneration += 1;
    state.loading = true;
    state.buffered = [];
  }
  const generation = state.queueGeneration;
  const current = () => generation === state.queueGeneration;
  let loadedAll = true;
  try {
    let nextToken = more ? state.queueNextToken : null;
    const loaded = more ? state.queue : new Map();
    // The whole queue when it is of a sane size, so a new review can always be put in its place.
    for (let pages = 0; pages < maxQueuePages; pages += 1) {
      const page = await api(reviewsPath("pending", order, nextToken));
      if (!current()) { return; } // the order changed meanwhile: a newer load replaces this one
      for (const review of page.items) { loaded.set(review.reviewId, review); }
      nextToken = page.nextToken || null;
      if (!nextToken) { break; }
    }
    state.queue = loaded;
    state.queueNextToken = nextToken;
    state.queueComplete = !nextToken;
  } catch (error) {
    if (!current()) { return; }
    loadedAll = false;
    setLive("The queue could not be loaded: " + error.message, "down");
  } finally {
    if (current()) { state.loading = false; }
  }
  const buffered = state.buffered;
  state.buffered = [];
  buffered.forEach(apply);
  renderQueue();
  return loadedAll;
}

async function changeQueueOrder(order) {
  const previous = state.queueOrder;
  state.queueOrder = order;
  const loaded = await loadQueue(false);
  if (loaded === false && state.queueOrder === order) {
    // The list on screen is still in the previous order: say so rather than pretend.
    state.queueOrder = previous;
    $("queue-order").value = previous;
    announce("The queue could not be reordered; it stays in the previous order.");
  }
}

/** Where a review sorts by risk, as the service's pending-by-risk index does: unscored errors first, unchecked last. */
function riskRank(review) {
  if (!review.risk) { return -1; }
  return typeof review.risk.score === "number" ? review.risk.score : 2;
}

/** Negative when ``left`` comes before ``right`` in the queue's current order. */
function compareInOrder(left, right) {
  switch (state.queueOrder) {
    case "risk":
      return riskRank(right) - riskRank(left);
    case "newest":
      return Date.parse(right.createdAt) - Date.parse(left.createdAt);
    case "deadline":
      return Date.parse(left.deadline) - Date.parse(right.deadline);
    default:
      return Date.parse(left.createdAt) - Date.parse(right.createdAt);
  }
}

/**
 * Put a new review at its place in the queue (after any that sort equal): false when that place is
 * past the reviews loaded so far, where "Load more" finds it.
 */
function insertInOrder(review) {
  const reviews = [...state.queue.values()];
  let at = reviews.findIndex((other) => compareInOrder(review, other) < 0);
  if (at < 0) {
    if (!state.queueComplete) { return false; }
    at = reviews.length;
  }
  reviews.splice(at, 0, review);
  state.queue.clear(); // the same Map: a "Load more" in flight keeps adding to it
  for (const each of reviews) { state.queue.set(each.reviewId, each); }
  return true;
}

// --- risk --------------------------------------------------------------------------------

/** Two decimals, cut rather than rounded, so a score just under the mark never reads 0.50. */
function riskScore(score) {
  return (Math.floor(score * 100 + 1e-9) / 100).toFixed(2);
}

/** The labels that scored above zero, highest first (ties by name), as "insult 0.91". */
function riskLabels(risk, limit) {
  const ranked = Object.entries(risk.labels || {})
    .filter(([, score]) => typeof score === "number" && score > 0)
    .sort(([leftName, left], [rightName, right]) => right - left || (leftName < rightName ? -1 : 1));
  return ranked.slice(0, limit)
    .map(([name, score]) => name.toLowerCase().replaceAll("_", " ") + " " + riskScore(score));
}

/** What a review the model could not score says instead of a score. */
function notScored(risk) {
  return "risk: not scored (" + (risk.error || "unknown error") + ")";
}

/** A short risk badge for a list: "high risk 0.97 · insult 0.97, profanity 0.97", or why it was not scored. */
function riskElement(risk, limit) {
  if (!risk) { return null; }
  if (typeof risk.score !== "number") {
    return element("span", "risk unscored", notScored(risk));
  }
  const high = risk.score >= highRisk;
  const node = element("span", "risk" + (high ? " high" : ""));
  node.append(element("span", "risk-score", (high ? "high risk " : "risk ") + riskScore(risk.score)));
  const labels = riskLabels(risk, limit);
  if (labels.length) { node.append(" · ", element("span", "risk-labels", labels.join(", "))); }
  if (risk.model) { node.title = "scored by " + risk.model; }
  return node;
}

// --- appeals -----------------------------------------------------------------------------

/** "appeal of: rejected by ana (spam): “looks like spam”": the decision an appeal contests. */
function contestedDecision(appeal) {
  const decision = appeal.originalDecision || (appeal.originalStatus || "").toLowerCase();
  return "appeal of: " + decision + " by " + (appeal.originalDecidedBy || "?")
    + (appeal.originalCategory ? " (" + appeal.originalCategory + ")" : "")
    + (appeal.originalReason ? ": “" + appeal.originalReason + "”" : "");
}

/** The appeal above the article: the original decision, who made it, why, and the author's message. */
function showAppeal(review) {
  const box = $("review-appeal");
  const appeal = review.kind === "appeal" ? review.appeal : null;
  box.hidden = !appeal;
  if (!appeal) { box.replaceChildren(); return; }
  const decision = appeal.originalDecision || (appeal.originalStatus || "").toLowerCase();
  const original = element("p", "appeal-original");
  original.append(element("span", "badge appeal", "appeal"), " The author appeals: ",
    element("strong", "", decision), " by ", element("span", "decided-by", appeal.originalDecidedBy || "?"));
  if (appeal.originalDecidedAt) { original.append(" ", timeElement(appeal.originalDecidedAt)); }
  const why = [];
  if (appeal.originalCategory) { why.push("category " + appeal.originalCategory); }
  if (appeal.originalReason) { why.push("“" + appeal.originalReason + "”"); }
  const parts = [original, element("p", "appeal-reason", "Why: " + (why.join(" · ") || "no reason given"))];
  parts.push(element("p", "muted", "The author's message:"), element("p", "appeal-message", appeal.message || ""));
  if (state.reviewer && appeal.originalDecidedBy === state.reviewer.name) {
    parts.push(element("p", "muted", "You made the original decision: someone else must decide this appeal."));
  }
  box.replaceChildren(...parts);
}

function matchedWords(review) {
  const words = [...new Set((review.matches || []).map((match) => match.word))];
  return words.length ? "matched: " + words.join(", ") : "";
}

/** Who is reviewing it (a live claim), or null: a claim lapses by itself, so the time decides. */
function liveHolder(review) {
  return review.claimedBy && Date.parse(review.claimExpiresAt) > Date.now() ? review.claimedBy : null;
}

function selectBox(review) {
  const box = element("input", "select");
  box.type = "checkbox";
  box.checked = state.selected.has(review.reviewId);
  box.setAttribute("aria-label", "Select “" + review.title + "”");
  box.addEventListener("change", () => {
    if (box.checked) { state.selected.add(review.reviewId); } else { state.selected.delete(review.reviewId); }
    renderBulk();
  });
  return box;
}

function reviewItem(review, decided) {
  const item = element("li", "review-item");
  item.dataset.reviewId = review.reviewId;
  if (!decided) { item.append(selectBox(review)); }
  const button = element("button", "open");
  button.type = "button";
  if (review.kind === "appeal") { button.append(element("span", "badge appeal", "appeal"), " "); }
  button.append(element("span", "title", review.title));
  const details = element("span", "details");
  if (decided) {
    const decision = (review.decision || review.status || "").toLowerCase();
    details.append(element("span", "badge " + decision, decision), " by ",
      element("span", "decided-by", review.decidedBy || "?"), " ");
    if (review.decidedAt) { details.append(timeElement(review.decidedAt)); }
    button.append(details);
    if (review.category) { button.append(element("span", "category", review.category)); }
    if (review.reason) { button.append(element("span", "reason", "“" + review.reason + "”")); }
  } else {
    details.append(timeElement(review.createdAt, "submitted "), " · ", timeElement(review.deadline, "deadline "));
    if (review.remindedAt) { details.append(" · ", element("span", "badge due-soon", "due soon")); }
    const words = matchedWords(review);
    if (words) { details.append(" · ", element("span", "words", words)); }
    button.append(details);
    if (review.appeal) { button.append(element("span", "reason appeal-of", contestedDecision(review.appeal))); }
    const risk = riskElement(review.risk, maxListedLabels);
    if (risk) { button.append(risk); }
    const holder = liveHolder(review);
    if (holder) {
      const mine = state.reviewer && holder === state.reviewer.name;
      button.append(" ", element("span", "claimed-by" + (mine ? " mine" : ""),
        mine ? "you are reviewing" : holder + " is reviewing"));
    }
  }
  button.addEventListener("click", () => openReview(review.reviewId, button));
  item.append(button);
  if (state.opened && state.opened.reviewId === review.reviewId) { item.classList.add("selected"); }
  return item;
}

function renderQueue() {
  // Live events re-render the list: keep the keyboard focus on the same review's same control.
  const focused = document.activeElement;
  const focusedItem = focused && focused.closest ? focused.closest("#queue .review-item") : null;
  const focusedClass = focusedItem ? (focused.classList.contains("select") ? "select" : "open") : null;
  for (const reviewId of [...state.selected]) { if (!state.queue.has(reviewId)) { state.selected.delete(reviewId); } }
  const items = [...state.queue.values()].map((review) => reviewItem(review, false));
  $("queue").replaceChildren(...items);
  $("queue-count").textContent = "(" + state.queue.size + (state.queueComplete ? "" : "+") + ")";
  $("queue-empty").hidden = state.queue.size > 0;
  $("queue-more").hidden = state.queueComplete;
  if (focusedItem) {
    const again = $("queue").querySelector(`li[data-review-id="${CSS.escape(focusedItem.dataset.reviewId)}"] .${focusedClass}`);
    if (again) { again.focus(); }
  }
  renderBulk();
}

// --- deciding several at once (POST /reviews/decisions) --------------------------------

function renderBulk() {
  const count = state.selected.size;
  $("bulk-count").textContent = count ? count + " selected" : "none selected";
  $("bulk-form").hidden = count === 0;
  $("select-all").checked = count > 0 && count === state.queue.size;
  $("select-all").indeterminate = count > 0 && count < state.queue.size;
  $("select-all").disabled = state.queue.size === 0;
}

function selectAll(checked) {
  state.selected = checked ? new Set(state.queue.keys()) : new Set();
  renderQueue();
}

function showBulkResult(text, kind) {
  $("bulk-result").textContent = text;
  $("bulk-result").className = "result " + kind;
}

async function decideSelected(action) {
  const reviewIds = [...state.selected].filter((reviewId) => state.queue.has(reviewId));
  if (!reviewIds.length) { return; }
  const titles = new Map(reviewIds.map((reviewId) => [reviewId, state.queue.get(reviewId).title]));
  const reason = $("bulk-reason").value.trim();
  const items = reviewIds.map((reviewId) => (reason ? {reviewId, decision: action, reason} : {reviewId, decision: action}));
  const buttons = $("bulk-form").querySelectorAll("button");
  for (const button of buttons) { button.disabled = true; }
  showBulkResult((action === "approve" ? "Approving " : "Rejecting ") + items.length + "…", "busy");
  try {
    const {results} = await api("reviews/decisions", {method: "POST", body: {items}});
    const done = results.filter((result) => result.status === 200);
    const refused = results.filter((result) => result.status !== 200);
    for (const result of done) {
      state.selected.delete(result.reviewId);
      state.queue.delete(result.reviewId); // the socket's "decided" event follows; no need to wait for it
    }
    const verb = action === "approve" ? "approved" : "rejected";
    let text = done.length ? done.length + " " + verb + (reason ? " with the reason “" + reason + "”" : "") : "None decided";
    if (refused.length) {
      text += "; not decided: " + refused.map((result) => "“" + (titles.get(result.reviewId) || result.reviewId) + "” ("
        + (result.error ? result.error.message : "status " + result.status) + ")").join("; ");
    }
    showBulkResult(text + ".", refused.length ? "warn" : "ok");
    announce(text + ".");
    if (!refused.length) { $("bulk-reason").value = ""; }
  } catch (error) {
    showBulkResult("Nothing decided: " + error.message, "error");
    announce("Nothing decided: " + error.message);
  } finally {
    for (const button of buttons) { button.disabled = false; }
    renderQueue();
  }
}

// --- decided reviews -------------------------------------------------------------------

async function loadDecided(more) {
  const status = state.decidedStatus;
  try {
    const page = await api(reviewsPath(status, "newest", more ? state.decidedNextToken : null));
    if (status !== state.decidedStatus) { return; } // the select changed meanwhile
    const items = page.items.map((review) => reviewItem(review, true));
    if (more) { $("decided").append(...items); } else { $("decided").replaceChildren(...items); }
    state.decidedNextToken = page.nextToken || null;
    $("decided-more").hidden = !state.decidedNextToken;
    $("decided-empty").hidden = $("decided").children.length > 0;
  } catch (error) {
    $("decided-empty").hidden = false;
    $("decided-empty").textContent = "Could not load decided reviews: " + error.message;
  }
}

function addDecided(review) {
  const list = $("decided");
  const existing = list.querySelector(`li[data-review-id="${CSS.escape(review.reviewId)}"]`);
  if (existing) { existing.remove(); }
  list.prepend(reviewItem(review, true));
  $("decided-empty").hidden = true;
}

// --- one review in full ----------------------------------------------------------------

/** The text with each match of that field in a <mark>; offsets count code points, as Python does. */
function highlighted(text, matches) {
  const characters = Array.from(text || "");
  const nodes = [];
  let position = 0;
  const ordered = matches.filter((match) => Number.isInteger(match.start) && Number.isInteger(match.end))
    .sort((left, right) => left.start - right.start);
  for (const match of ordered) {
    if (match.start < position || match.end > characters.length) { continue; } // overlapping or stale
    nodes.push(characters.slice(position, match.start).join(""));
    const mark = element("mark", "", characters.slice(match.start, match.end).join(""));
    mark.title = "matches “" + match.word + "”";
    nodes.push(mark);
    position = match.end;
  }
  nodes.push(characters.slice(position).join(""));
  return nodes;
}

async function openReview(reviewId, from) {
  if (state.claim && state.claim.reviewId !== reviewId) { releaseClaim(); }
  state.openedFrom = from || null;
  let review;
  try {
    review = await api("reviews/" + encodeURIComponent(reviewId));
  } catch (error) {
    announce("Could not open the review: " + error.message);
    return;
  }
  state.opened = review;
  const matches = review.matches || [];
  $("review-title").replaceChildren(...highlighted(review.title, matches.filter((m) => m.field === "title")));
  const body = review.body || "";
  $("review-body").replaceChildren(...(body
    ? highlighted(body, matches.filter((m) => m.field === "body"))
    : [element("span", "muted", "(no body)")]));
  $("review-matches").textContent = matches.length
    ? "Flagged for " + matches.map((m) => "“" + m.text + "” (" + m.word + ", in the " + m.field + ")").join("; ")
    : "";
  showRisk(review.risk);
  showAppeal(review);
  $("review-meta").replaceChildren("Submitted ", timeElement(review.createdAt), " · deadline ",
    timeElement(review.deadline), " · submission " + review.submissionId);
  $("reason").value = "";
  $("category").value = "other"; // every deployment offers it (REJECTION_CATEGORIES must include it)
  $("decision-result").textContent = "";
  $("decision-result").className = "result";
  const pending = review.status === "PENDING";
  setDecisionEnabled(pending);
  $("decision").hidden = !pending;
  $("review-claim").textContent = "";
  if (!pending) { showOutcome(review, "This review was already"); }
  for (const item of document.querySelectorAll(".review-item")) {
    item.classList.toggle("selected", item.dataset.reviewId === reviewId);
  }
  $("review").hidden = false;
  $("review").focus();
  loadHistory(review.submissionId);
  if (pending) { claimOpened(review); }
}

// --- claims: "alice is reviewing" --------------------------------------------------------

function claimPath(reviewId) {
  return "reviews/" + encodeURIComponent(reviewId) + "/claim";
}

function showClaimNote(text, other) {
  $("review-claim").textContent = text;
  $("review-claim").className = "claim-note" + (other ? " other" : "");
}

/** Claim (or renew the claim on) the opened review; someone else's live claim leaves it read-only. */
async function claimOpened(review) {
  let claim;
  try {
    claim = await api(claimPath(review.reviewId), {method: "POST"});
  } catch (error) {
    if (state.opened !== review) { return; }
    dropClaim();
    if (error.code === "Claimed") {
      setDecisionEnabled(false);
      showClaimNote(error.message + ". You can read it; deciding waits until they close it or their claim lapses.", true);
    } else if (error.status === 409 || error.status === 410) {
      setDecisionEnabled(false);
      showClaimNote("It can no longer be claimed: " + error.message + ".", true);
    } else if (error.status === 403) { // an appeal of this reviewer's own decision: others review it
      showClaimNote("Not yours to review: " + error.message + ".", true);
    } else if (error.status !== 401) {
      showClaimNote("Could not claim it (" + error.message + "): someone else may open it at the same time.", true);
    }
    return;
  }
  if (state.opened !== review) { // closed or another one opened meanwhile: give it back
    releaseClaimOf(review.reviewId);
    return;
  }
  const renewal = state.claim && state.claim.reviewId === review.reviewId;
  dropClaim();
  const lifeMs = Math.max(0, Date.parse(claim.claimExpiresAt) - Date.now());
  const timer = setTimeout(() => claimOpened(review), Math.max(minClaimRenewalMs, lifeMs / 3));
  state.claim = {reviewId: review.reviewId, expiresAt: claim.claimExpiresAt, timer};
  if (!renewal) { setDecisionEnabled(true); }
  showClaimNote("You are reviewing this: others see “" + claim.claimedBy + " is reviewing” until you close it.", false);
}

/** A claim event for the opened review: someone else took it, or it was released (then claim it now). */
function claimChanged(review) {
  const mine = state.reviewer && review.claimedBy === state.reviewer.name;
  if (liveHolder(review) && !mine) {
    dropClaim();
    setDecisionEnabled(false);
    showClaimNote(review.claimedBy + " is reviewing this review. You can read it; deciding waits until they close it.", true);
  } else if (!liveHolder(review) && state.opened.status === "PENDING" && !state.claim) {
    claimOpened(state.opened);
  }
}

/** Forget the claim here (the server dropped it: a decision, or someone else holds it now). */
function dropClaim() {
  if (state.claim) { clearTimeout(state.claim.timer); }
  state.claim = null;
}

/** Give the claim back: a plain keepalive request, so it also goes out while the page unloads or signs out. */
function releaseClaim() {
  if (!state.claim) { return; }
  const reviewId = state.claim.reviewId;
  dropClaim();
  releaseClaimOf(reviewId);
}

function releaseClaimOf(reviewId) {
  if (!state.token) { return; }
  fetch(new URL(claimPath(reviewId), base), {
    method: "DELETE", headers: {"Authorization": "Bearer " + state.token}, keepalive: true, cache: "no-store",
  }).catch(() => {});
}

function showRisk(risk) {
  const node = riskElement(risk, Infinity);
  if (!node) {
    $("review-risk").replaceChildren();
    return;
  }
  const parts = [node];
  if (typeof risk.score !== "number") {
    parts.push(" — the model could not score it, so it came to a human.");
  } else if (risk.model) {
    parts.push(element("span", "muted", " (scored by " + risk.model + ")"));
  }
  $("review-risk").replaceChildren(...parts);
}

function closeReview() {
  releaseClaim();
  state.opened = null;
  $("review").hidden = true;
  for (const item of document.querySelectorAll(".review-item.selected")) { item.classList.remove("selected"); }
  if (state.openedFrom && state.openedFrom.isConnected) { state.openedFrom.focus(); }
  state.openedFrom = null;
}

function setDecisionEnabled(enabled) {
  for (const button of $("decision").querySelectorAll("button")) { button.disabled = !enabled; }
  $("reason").disabled = !enabled;
  $("category").disabled = !enabled;
}

function showResult(text, kind) {
  $("decision-result").textContent = text;
  $("decision-result").className = "result " + kind;
  announce(text);
}

function showOutcome(review, lead) {
  const decision = (review.decision || review.status || "").toLowerCase();
  const reason = review.reason ? ": “" + review.reason + "”" : ".";
  const category = review.category ? " (" + review.category + ")" : "";
  showResult(lead + " " + decision + category + " by " + (review.decidedBy || "?") + reason,
    decision === "approved" ? "ok" : "warn");
}

function decidedMeanwhile(review) {
  setDecisionEnabled(false);
  showOutcome(review, "Meanwhile, this review was");
  loadHistory(review.submissionId);
}

async function decide(action) {
  const review = state.opened;
  if (!review) { return; }
  const reason = $("reason").value.trim();
  // Only a rejection names a category (an approval with one is refused).
  const category = action === "reject" ? $("category").value : "";
  const body = {};
  if (reason) { body.reason = reason; }
  if (category) { body.category = category; }
  setDecisionEnabled(false);
  showResult(action === "approve" ? "Approving…" : "Rejecting…", "busy");
  try {
    const result = await api("reviews/" + encodeURIComponent(review.reviewId) + "/" + action,
      {method: "POST", body});
    if (state.opened !== review) { return; }
    dropClaim(); // the decision gave it back
    $("review-claim").textContent = "";
    // The default category goes unsaid here; the decided list and the history name it.
    const as = category && category !== "other" ? " as " + category : "";
    showResult((result.decision === "approved" ? "Approved" : "Rejected" + as) + " by you ("
      + result.decidedBy + ")" + (reason ? " with the reason “" + reason + "”." : "."), "ok");
    followHistory(review.submissionId, review.kind === "appeal" ? "appeal_decided" : "delivered");
  } catch (error) {
    if (state.opened !== review) { return; }
    if (error.status === 403) {
      showResult("Not yours to decide: " + error.message + ". Nothing was recorded.", "warn");
    } else if (error.code === "Claimed") {
      showResult(error.message + ". Your decision was not recorded.", "warn");
    } else if (error.status === 409) {
      showResult("Someone decided first: " + error.message + ". Your decision was not recorded.", "warn");
    } else if (error.status === 410) {
      showResult("Too late: the review expired before your decision reached it (" + error.message + ").", "warn");
    } else {
      showResult("Not recorded: " + error.message, "error");
      setDecisionEnabled(true); // nothing changed: the reviewer may try again
    }
  }
}

// --- history ---------------------------------------------------------------------------

const eventLabels = {
  submitted: "Submitted",
  checked: "Checked",
  review_requested: "Review requested",
  claimed: "Claimed",
  released: "Released",
  reminded: "Due soon",
  decided: "Decided",
  expired: "Expired",
  failed: "Failed",
  delivered: "Delivered",
  delivery_failed: "Delivery failed",
  appealed: "Appealed",
  appeal_decided: "Appeal decided",
};

function eventDetails(entry) {
  switch (entry.event) {
    case "checked":
      return [
        entry.flagged
          ? "flagged: " + (entry.matches || []).map((match) => match.word + " (“" + match.text + "”)").join(", ")
          : "no listed word",
        riskText(entry.risk),
        entry.route ? "route: " + entry.route : "",
      ].filter(Boolean).join(" · ");
    case "review_requested":
    case "reminded":
      return "deadline " + new Date(entry.deadline).toLocaleString();
    case "claimed":
      return "by " + entry.actor;
    case "released":
      return entry.actor === entry.claimedBy ? "by " + entry.actor : entry.claimedBy + "'s claim, by " + entry.actor;
    case "decided":
      return entry.decision + (entry.category ? " (" + entry.category + ")" : "") + " by " + entry.actor
        + (entry.reason ? ": “" + entry.reason + "”" : "");
    case "expired":
    case "failed":
      return entry.reason || "";
    case "delivered":
      return entry.channel + (entry.sockets !== undefined ? " (" + entry.sockets + " open)" : "") +
        (entry.about ? " (" + entry.about + ")" : "");
    case "delivery_failed":
      return entry.channel + (entry.error ? ": " + entry.error : "");
    case "appealed":
      return "against " + (entry.originalDecision || "?") + " by " + (entry.originalDecidedBy || "?")
        + (entry.message ? ": “" + entry.message + "”" : "");
    case "appeal_decided":
      return entry.appeal + " (" + entry.decision + " by " + entry.actor + ")"
        + (entry.reason ? ": “" + entry.reason + "”" : "");
    default:
      return "";
  }
}

function riskText(risk) {
  if (!risk) { return ""; }
  if (typeof risk.score !== "number") { return notScored(risk); }
  const labels = riskLabels(risk, maxListedLabels);
  return "risk " + riskScore(risk.score) + (labels.length ? " (" + labels.join(", ") + ")" : "");
}

// After our decision the workflow still records the outcome (delivered, appeal_decided): the history
// is read again each second, for a minute at most, until that event is in it.
const historyFollowMs = 1000;
const historyFollowTries = 60;

async function followHistory(submissionId, awaited) {
  for (let tries = 0; tries < historyFollowTries; tries += 1) {
    const items = await loadHistory(submissionId);
    if (!items || items.some((entry) => entry.event === awaited)) { return; }
    await new Promise((resolve) => setTimeout(resolve, historyFollowMs));
    if (!state.opened || state.opened.submissionId !== submissionId) { return; }
  }
}

/** Show the opened review's history; returns its events (null when it failed or another review is open). */
async function loadHistory(submissionId) {
  let history;
  try {
    history = await api("submissions/" + encodeURIComponent(submissionId) + "/history");
  } catch (error) {
    $("history").replaceChildren(element("li", "muted", "Could not load the history: " + error.message));
    return null;
  }
  if (!state.opened || state.opened.submissionId !== submissionId) { return null; }
  $("history").replaceChildren(...history.items.map((entry) => {
    const item = element("li", "event " + entry.event);
    item.dataset.event = entry.event;
    const at = element("time", "at", new Date(entry.at).toLocaleString());
    at.dateTime = entry.at;
    item.append(at, element("span", "name", eventLabels[entry.event] || entry.event),
      element("span", "muted", eventDetails(entry)));
    return item;
  }));
  return history.items;
}

// --- the team (admins) -----------------------------------------------------------------

async function loadReviewers() {
  let result;
  try {
    result = await api("reviewers");
  } catch (error) {
    $("team-error").textContent = error.message;
    return;
  }
  $("reviewers").replaceChildren(...result.items.map((reviewer) => {
    const row = element("tr");
    row.dataset.reviewer = reviewer.name;
    row.append(element("td", "", reviewer.name), element("td", "", reviewer.role));
    const created = element("td");
    created.append(timeElement(reviewer.createdAt), reviewer.createdBy ? " by " + reviewer.createdBy : "");
    const actions = element("td");
    if (state.reviewer && reviewer.name !== state.reviewer.name) {
      const remove = element("button", "remove", "Remove");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove " + reviewer.name);
      remove.addEventListener("click", () => removeReviewer(reviewer.name));
      actions.append(remove);
    }
    row.append(created, actions);
    return row;
  }));
}

async function createReviewer(event) {
  event.preventDefault();
  $("team-error").textContent = "";
  const name = $("reviewer-name").value.trim();
  try {
    const created = await api("reviewers", {method: "POST", body: {name, role: $("reviewer-role").value}});
    $("new-token-name").textContent = created.name + " (" + created.role + ")";
    $("new-token-value").textContent = created.token;
    $("new-token").hidden = false;
    $("copy-token").textContent = "Copy";
    $("reviewer-name").value = "";
    $("copy-token").focus();
    announce("Created " + created.name + ". Their token is shown once.");
    loadReviewers();
  } catch (error) {
    $("team-error").textContent = error.message;
  }
}

async function removeReviewer(name) {
  if (!confirmRemoval(name)) { return; }
  $("team-error").textContent = "";
  try {
    await api("reviewers/" + encodeURIComponent(name), {method: "DELETE"});
    announce("Removed " + name + "; their token no longer works.");
    loadReviewers();
  } catch (error) {
    $("team-error").textContent = error.message;
  }
}

// Removing is immediate and cannot be undone (the token is gone): one native confirmation.
function confirmRemoval(name) {
  return window.confirm("Remove " + name + "? Their token stops working at once.");
}

async function copyToken() {
  try {
    await navigator.clipboard.writeText($("new-token-value").textContent);
    $("copy-token").textContent = "Copied";
    announce("Token copied.");
  } catch {
    // No clipboard permission (plain http on another host): select it for a manual copy.
    getSelection().selectAllChildren($("new-token-value"));
    announce("Select and copy the token by hand.");
  }
}

// --- wiring ----------------------------------------------------------------------------

$("sign-in").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut());
$("queue-more").addEventListener("click", () => loadQueue(true));
$("queue-order").addEventListener("change", (event) => changeQueueOrder(event.target.value));
$("decided-more").addEventListener("click", () => loadDecided(true));
$("decided-status").addEventListener("change", (event) => {
  state.decidedStatus = event.target.value;
  loadDecided(false);
});
$("close-review").addEventListener("click", closeReview);
$("select-all").addEventListener("change", (event) => selectAll(event.target.checked));
$("bulk-clear").addEventListener("click", () => { selectAll(false); $("select-all").focus(); });
for (const button of $("bulk-form").querySelectorAll("button[data-bulk]")) {
  button.addEventListener("click", () => decideSelected(button.dataset.bulk));
}
// Closing the tab gives the claim back at once rather than after CLAIM_SECONDS.
window.addEventListener("pagehide", releaseClaim);
for (const button of $("decision").querySelectorAll("button[data-action]")) {
  button.addEventListener("click", () => decide(button.dataset.action));
}
$("decision").addEventListener("submit", (event) => event.preventDefault());
$("new-reviewer").addEventListener("submit", createReviewer);
$("copy-token").addEventListener("click", copyToken);
document.addEventListener("keydown", (event) => {
  // Escape closes the review, except while a typed reason would be lost with it.
  if (event.key === "Escape" && !$("review").hidden && !(event.target === $("reason") && $("reason").value)) {
    closeReview();
  }
});
window.addEventListener("online", () => {
  if (state.token && !state.socket) { clearTimeout(state.retryTimer); connect(); }
});
// Ages and deadlines, and claims that lapsed meanwhile ("… is reviewing" goes): the data arrives over the socket.
setInterval(() => { refreshTimes(); renderQueue(); }, 30000);

state.token = sessionStorage.getItem(tokenKey);
if (state.token) { start(); } else { $("token").focus(); }
