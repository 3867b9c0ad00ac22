// The review dashboard: loaded from /static/admin.js because the CSP allows no inline script.
"use strict";
const tokenKey = "content-moderation-admin-token";
let nextToken = null;

function headers() {
  return {"Authorization": "Bearer " + (sessionStorage.getItem(tokenKey) || ""), "Content-Type": "application/json"};
}

function cell(row, text) { const td = row.insertCell(); td.textContent = text; return td; }

function render(items, append) {
  const body = document.getElementById("reviews");
  if (!append) { body.replaceChildren(); }
  for (const review of items) {
    const row = body.insertRow();
    cell(row, new Date(review.createdAt).toLocaleString());
    cell(row, review.title);
    const why = row.insertCell();
    for (const match of review.matches) {
      const mark = document.createElement("mark");
      mark.textContent = match.text;
      why.append(mark, " (" + match.word + ", " + match.field + ") ");
    }
    cell(row, new Date(review.deadline).toLocaleString());
    const actions = row.insertCell();
    for (const action of ["approve", "reject"]) {
      const button = document.createElement("button");
      button.className = action;
      button.textContent = action === "approve" ? "Approve" : "Reject";
      button.onclick = () => decide(review.reviewId, action);
      actions.append(button);
    }
  }
}

async function load(append) {
  const query = new URLSearchParams({status: "pending", order: "oldest", limit: "50"});
  if (append && nextToken) { query.set("nextToken", nextToken); }
  const response = await fetch("reviews?" + query, {headers: headers()});
  const result = await response.json().catch(() => ({}));
  if (!response.ok) {
    document.getElementById("error").textContent = response.status === 401
      ? "Enter the admin token." : (result.error ? result.error.message : response.statusText);
    return;
  }
  document.getElementById("error").textContent = "";
  nextToken = result.nextToken || null;
  document.getElementById("more").hidden = !nextToken;
  document.getElementById("updated").textContent = "Updated " + new Date().toLocaleTimeString() + ".";
  render(result.items, append);
}

async function decide(reviewId, action) {
  const body = {};
  if (action === "reject") {
    const reason = prompt("Reason (optional)");
    if (reason === null) { return; }
    if (reason) { body.reason = reason; }
  }
  const response = await fetch("reviews/" + encodeURIComponent(reviewId) + "/" + action,
    {method: "POST", headers: headers(), body: JSON.stringify(body)});
  if (!response.ok) {
    const result = await response.json().catch(() => ({}));
    document.getElementById("error").textContent = result.error ? result.error.message : response.statusText;
  }
  load(false);
}

document.getElementById("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(tokenKey, document.getElementById("token").value);
  document.getElementById("token").value = "";
  load(false);
});
document.getElementById("more").onclick = () => load(true);
load(false);
setInterval(() => { if (!nextToken) { load(false); } }, 5000);
