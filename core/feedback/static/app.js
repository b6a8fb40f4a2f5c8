// rlft feedback page: plain JS, no dependencies. Model text is only ever set with textContent.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get("token");
  const state = { rater: null, key: null, pair: null, rating: null, busy: false };

  function uid() {
    const a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.from(a, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  async function api(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers["Authorization"] = "Bearer " + token;
    if (state.key) headers["X-Rater-Key"] = state.key;
    const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(typeof data.detail === "string" ? data.detail : res.status + " " + JSON.stringify(data.detail));
    return data;
  }

  function showProgress(p) {
    if (!p) return;
    const others = Object.entries(p.per_rater || {}).map(([k, v]) => k + ": " + v).join(", ");
    $("progress").textContent = "you rated " + (p.mine || 0) + " · queued for you " + (p.queued || 0) +
      " · all judgements " + p.judgements + (others ? " (" + others + ")" : "");
    const g = p.generation || {};
    $("generation").textContent = g.state ? "pairs: " + (g.done || 0) + "/" + (g.target || "?") + " " + g.state : "";
  }

  function setRating(r) {
    state.rating = r;
    document.querySelectorAll("#ratings button").forEach((b) => b.classList.toggle("selected", Number(b.dataset.rating) === r));
  }

  async function load() {
    const data = await api("GET", "/api/next?rater=" + encodeURIComponent(state.rater));
    state.pair = data.pair;
    showProgress(data.progress);
    $("rating").hidden = !data.pair;
    $("empty").hidden = !!data.pair;
    if (data.pair) {
      $("prompt").textContent = data.pair.prompt_text;
      $("completion-a").textContent = data.pair.completion_a;
      $("completion-b").textContent = data.pair.completion_b;
      $("rating").dataset.pairId = String(data.pair.id);
      $("correction").value = "";
      setRating(null);
    }
  }

  async function judge(choice) {
    if (!state.pair || state.busy) return;
    state.busy = true;
    const body = { uid: uid(), pair_id: state.pair.id, rater: state.rater, choice: choice, rating: state.rating };
    const correction = $("correction").value.trim();
    if (correction) body.correction = correction;
    try {
      for (let attempt = 0; ; attempt++) {  // the uid makes a retry safe: the server stores it once
        try { await api("POST", "/api/judgements", body); break; }
        catch (e) { if (attempt >= 2 || !(e instanceof TypeError)) throw e; await new Promise((r) => setTimeout(r, 500)); }
      }
      $("status").textContent = "saved: " + choice + " for pair " + body.pair_id;
      await load();
    } catch (e) { $("status").textContent = "error: " + e.message; }
    finally { state.busy = false; }
  }

  async function undo() {
    if (state.busy) return;
    state.busy = true;
    try {
      const r = await api("POST", "/api/undo", { rater: state.rater });
      $("status").textContent = "undone: your judgement of pair " + r.pair_id;
      await load();
    } catch (e) { $("status").textContent = "error: " + e.message; }
    finally { state.busy = false; }
  }

  async function start() {
    const name = $("rater").value.trim();
    const saved = localStorage.getItem("rlft-key:" + name);
    try {
      const r = await api("POST", "/api/login", { name: name, key: saved });
      state.rater = r.name; state.key = r.key;
      localStorage.setItem("rlft-key:" + name, r.key);
      $("login").hidden = true;
      await load();
      setInterval(() => { if (!state.busy) (state.pair ? api("GET", "/api/progress?rater=" + encodeURIComponent(state.rater)).then(showProgress) : load()).catch(() => {}); }, 2000);
    } catch (e) { $("login-error").textContent = e.message; }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("start").addEventListener("click", start);
    $("rater").addEventListener("keydown", (e) => { if (e.key === "Enter") start(); });
    document.querySelectorAll("button[data-choice]").forEach((b) => b.addEventListener("click", () => judge(b.dataset.choice)));
    document.querySelectorAll("#ratings button").forEach((b) => b.addEventListener("click", () => setRating(Number(b.dataset.rating))));
    $("undo").addEventListener("click", undo);
    document.addEventListener("keydown", (e) => {
      if (!state.rater || e.target.tagName === "TEXTAREA" || e.target.tagName === "INPUT" || e.ctrlKey || e.metaKey || e.altKey) return;
      const keys = { a: "a", b: "b", t: "tie", x: "both_bad" };
      if (keys[e.key]) { e.preventDefault(); judge(keys[e.key]); }
      else if (e.key === "u") { e.preventDefault(); undo(); }
      else if ("12345".includes(e.key)) { e.preventDefault(); setRating(Number(e.key)); }
    });
    fetch("/api/progress" + (token ? "?token=" + encodeURIComponent(token) : "")).then((r) => r.json()).then(showProgress).catch(() => {});
  });
})();
