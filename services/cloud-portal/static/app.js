// The cloud portal's page: plain JavaScript over the portal's own form API
// (/api/login, /api/myun/instance, /api/instance/baseinfo, /api/instance/run|stop|delete,
// /api/logout). No framework, nothing fetched from elsewhere. Text from the server is put on
// the page with textContent only, never as HTML.
"use strict";

const PAGE_SIZE = 20;
// Codes of the answers (proto-docs/cloud-portal.md, "Answers and codes").
const CODE_OK = 0;
const CODE_REQUIRES_AUTHENTICATION = 2;
// The session lives as long as the tab: sessionStorage, not a cookie, so that no other site's
// page can make the browser send it (the API takes the key as a parameter only).
const KEY = "dcp.cloud-portal.session";

let page = 1;

function $(id) {
  return document.getElementById(id);
}

function say(text, isError) {
  const message = $("message");
  message.textContent = text;
  message.classList.toggle("error", Boolean(isError));
  message.hidden = !text;
}

// POSTs `params` as a form and returns the answer's JSON envelope. Failures of the network or
// a body that is not JSON become an envelope too, so callers handle one shape.
async function call(path, params) {
  let response;
  try {
    response = await fetch(path, { method: "POST", body: new URLSearchParams(params) });
  } catch (error) {
    return { code: -1, desc: "The portal does not answer: " + error.message };
  }
  try {
    return await response.json();
  } catch (error) {
    return { code: -1, desc: "The portal answered HTTP " + response.status + " without JSON" };
  }
}

function session() {
  return sessionStorage.getItem(KEY);
}

// An answer that says the session is gone sends the user back to the login form.
function sessionEnded(answer) {
  if (answer.code !== CODE_REQUIRES_AUTHENTICATION) {
    return false;
  }
  sessionStorage.removeItem(KEY);
  showLogin();
  say("Your session has ended; please log in again.", true);
  return true;
}

function showLogin() {
  $("who").hidden = true;
  $("instances-view").hidden = true;
  $("login-view").hidden = false;
  $("password").value = "";
  $("username").focus();
}

function showInstances() {
  $("who-name").textContent = sessionStorage.getItem(KEY + ".user") || "";
  $("who").hidden = false;
  $("login-view").hidden = true;
  $("instances-view").hidden = false;
}

// Which actions the lifecycle allows from a status; the server decides
// (portal::next_status) and refuses anything else, this only hides buttons that would fail.
const RUNNING = [3, 4, 5];
function canRun(status) {
  return status === 1 || status === 2;
}
function canStop(status) {
  return RUNNING.includes(status) || status === 9;
}
function statusClass(status) {
  if (RUNNING.includes(status)) return "running";
  if (status === 2 || status === 9) return "stopped";
  if (status === 1) return "new";
  return "";
}

// "host" or "host:port"; the host-pool driver gives no VDI port.
function vdiAddress(info) {
  if (info.code !== CODE_OK) return "(" + info.desc + ")";
  if (!info.host) return "none";
  const kind = info.vdi_type === 1 ? "spice://" : "";
  return info.port ? kind + info.host + ":" + info.port : kind + info.host;
}

function button(label, title, onClick, className) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.title = title;
  if (className) b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

function row(instance, info) {
  const tr = document.createElement("tr");
  tr.id = "instance-" + instance.id;
  tr.dataset.status = String(instance.status);
  const cells = [String(instance.id), instance.name];
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  }
  const status = document.createElement("td");
  const badge = document.createElement("span");
  badge.className = "status " + statusClass(instance.status);
  badge.textContent = instance.status_string;
  badge.title = "status " + instance.status;
  status.appendChild(badge);
  tr.appendChild(status);

  const vdi = document.createElement("td");
  vdi.className = "vdi";
  vdi.textContent = vdiAddress(info);
  tr.appendChild(vdi);

  const actions = document.createElement("td");
  actions.className = "actions";
  if (canRun(instance.status)) {
    actions.appendChild(button("Start", "Start instance " + instance.id,
      () => act("run", "started", instance)));
  }
  if (canStop(instance.status)) {
    actions.appendChild(button("Stop", "Stop instance " + instance.id,
      () => act("stop", "stopped", instance)));
  }
  actions.appendChild(button("Delete", "Delete instance " + instance.id,
    () => act("delete", "deleted", instance), "danger"));
  tr.appendChild(actions);
  return tr;
}

async function refresh() {
  const key = session();
  if (!key) {
    showLogin();
    return;
  }
  const answer = await call("/api/myun/instance", { session_key: key, sepa: PAGE_SIZE, p: page });
  if (sessionEnded(answer)) return;
  if (answer.code !== CODE_OK) {
    say(answer.desc, true);
    return;
  }
  showInstances();
  const list = answer.list;
  if (list.length === 0 && page > 1) {
    // The last instance of a later page was deleted: show the page before.
    page -= 1;
    return refresh();
  }
  // The list has no address: baseinfo, the seed's VDI call, gives it, one per instance.
  const infos = await Promise.all(list.map((instance) =>
    call("/api/instance/baseinfo", { session_key: key, instance_id: instance.id })));
  const tbody = $("instances").tBodies[0];
  tbody.replaceChildren(...list.map((instance, i) => row(instance, infos[i])));
  $("instances").hidden = list.length === 0;
  $("empty").hidden = list.length !== 0;
  $("page").textContent = "Page " + page;
  $("prev").disabled = page <= 1;
  $("next").disabled = list.length < PAGE_SIZE;
}

async function act(route, done, instance) {
  if (route === "delete" &&
      !window.confirm("Delete instance " + instance.id + " (" + instance.name + ")? This can not be undone.")) {
    return;
  }
  for (const b of document.querySelectorAll("td.actions button")) b.disabled = true;
  const answer = await call("/api/instance/" + route, { session_key: session(), instance_id: instance.id });
  if (sessionEnded(answer)) return;
  if (answer.code === CODE_OK) {
    say("Instance " + instance.id + " (" + instance.name + ") " + done + ".");
  } else {
    say(answer.desc, true);
  }
  await refresh();
}

async function login(event) {
  event.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  $("login-button").disabled = true;
  const answer = await call("/api/login", { username: username, password: password });
  $("login-button").disabled = false;
  if (answer.code !== CODE_OK) {
    say(answer.desc, true);
    $("password").value = "";
    return;
  }
  sessionStorage.setItem(KEY, answer.session_key);
  sessionStorage.setItem(KEY + ".user", username);
  say("");
  page = 1;
  await refresh();
}

async function logout() {
  const key = session();
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(KEY + ".user");
  if (key) await call("/api/logout", { session_key: key });
  showLogin();
  say("You are logged out.");
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("refresh").addEventListener("click", () => { say(""); refresh(); });
  $("prev").addEventListener("click", () => { page = Math.max(1, page - 1); refresh(); });
  $("next").addEventListener("click", () => { page += 1; refresh(); });
  refresh();
});
