// The front end of luma_tools.widgets.TaskPanel (an anywidget ES module).
// It draws the JSON `state` the kernel computes; all wording comes from Python. Untrusted text
// (prompts, gateway messages, paths) is only ever set as textContent. The video link arrives
// in a message, live, and is kept in memory only: it is signed, expires, and synced state is
// saved with the notebook.

const TEMPLATE = `
<div class="luma-head">
  <span class="luma-state"></span>
  <span class="luma-task"><span class="luma-task-label"></span><code class="luma-task-id"></code><span class="luma-raw"></span></span>
  <span class="luma-head-actions">
    <button type="button" class="luma-icon luma-collapse"></button>
    <button type="button" class="luma-icon luma-dismiss" title="Dismiss this panel (the task is not affected)" aria-label="Dismiss">✕</button>
  </span>
</div>
<div class="luma-body">
  <div class="luma-prompt"></div>
  <div class="luma-details"></div>
  <div class="luma-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div class="luma-bar-fill"></div></div>
  <div class="luma-stats"></div>
  <div class="luma-last-error"></div>
  <div class="luma-message"><div class="luma-message-text"><b class="luma-title"></b><span class="luma-message-body"></span></div><div class="luma-hint"><i>What to try:</i> <span class="luma-hint-body"></span></div></div>
  <div class="luma-gone" role="status"><span class="luma-gone-text"></span> <code class="luma-refollow"></code></div>
  <div class="luma-preview"></div>
  <div class="luma-actions">
    <button type="button" class="luma-button luma-stop"></button>
    <button type="button" class="luma-button luma-primary luma-download">Download</button>
    <span class="luma-saved"></span>
  </div>
</div>`;

const GONE = {
  live: "No kernel: this panel stopped updating (the kernel restarted or the notebook was reopened). The task is not affected. Follow it again in a new cell:",
  finished: "No kernel: this panel shows the last state it saw. To see the task again, run in a new cell:",
  creating: "No kernel: it stopped while the create request was in flight, so a task may have been created and billed. Find its id in your gateway's task log, then run:",
  nothing: "No kernel: this panel shows the last state it saw.",
};

function render({ model, el }) {
  el.classList.add("luma-host");
  const root = document.createElement("div");
  root.className = "luma-panel";
  root.innerHTML = TEMPLATE;
  el.appendChild(root);
  const $ = (selector) => root.querySelector(selector);
  const show = (node, visible) => { node.hidden = !visible; };
  let videoUrl = null;
  let askedFor = null; // the link a fresh one was asked for
  let gone = false;
  let pending = null; // the label of a button pressed and not yet answered

  function drawVideo(state) {
    const preview = $(".luma-preview");
    let video = preview.querySelector("video");
    if (state.phase !== "completed") {
      preview.textContent = "";
      show(preview, false);
      return;
    }
    if (videoUrl) {
      if (!video) {
        video = document.createElement("video");
        video.controls = true;
        video.preload = "metadata";
        video.playsInline = true;
        // A signed link that fails to play has probably expired: ask the kernel for a fresh
        // one, once per link (the kernel also limits how often it asks the gateway).
        video.addEventListener("error", () => {
          if (videoUrl && askedFor !== videoUrl && !gone) {
            askedFor = videoUrl;
            model.send({ kind: "expired" });
          }
        });
        preview.textContent = "";
        preview.appendChild(video);
      }
      // Setting the same source again would reload the video and jump back to 0:00.
      if (video.getAttribute("src") !== videoUrl) video.src = videoUrl;
      show(preview, true);
    } else if (!video) {
      // Restored from a saved notebook: there is no link to play (it was never saved).
      preview.textContent = gone
        ? "The preview is not saved with the notebook (its link was temporary)."
        : "";
      show(preview, gone);
    }
  }

  function draw() {
    const state = model.get("state") || {};
    const phase = state.phase || "submitting";
    root.dataset.phase = phase;
    root.dataset.kernel = gone ? "gone" : "live";
    const collapsed = Boolean(model.get("collapsed"));
    root.dataset.collapsed = String(collapsed);

    const label = $(".luma-state");
    label.textContent = phase;
    label.dataset.state = phase;
    $(".luma-task-label").textContent = state.task_id ? "task " : state.task_line || "";
    $(".luma-task-id").textContent = state.task_id || "";
    show($(".luma-task-id"), Boolean(state.task_id));
    $(".luma-raw").textContent = state.raw_state ? ` (${state.raw_state})` : "";

    const collapse = $(".luma-collapse");
    collapse.textContent = collapsed ? "▸" : "▾";
    collapse.setAttribute("aria-expanded", String(!collapsed));
    collapse.setAttribute("aria-label", collapsed ? "Expand" : "Collapse");
    collapse.title = collapsed ? "Show the whole panel" : "Fold the panel to one line";
    const dismiss = $(".luma-dismiss");
    show(dismiss, Boolean(model.get("dismissable")) && !gone);
    dismiss.disabled = !state.final;
    dismiss.title = state.final
      ? "Dismiss this panel (the task is not affected)"
      : "Stop following the task first; then it can be dismissed";
    show($(".luma-body"), !collapsed);

    $(".luma-prompt").textContent = state.prompt ? `“${state.prompt}”` : "";
    show($(".luma-prompt"), Boolean(state.prompt));
    const details = $(".luma-details");
    details.textContent = "";
    for (const [name, value] of state.details || []) {
      const item = document.createElement("span");
      item.className = "luma-detail";
      const key = document.createElement("span");
      key.className = "luma-detail-label";
      key.textContent = `${name}: `;
      item.append(key, value);
      details.appendChild(item);
    }
    show(details, (state.details || []).length > 0);

    const bar = $(".luma-bar");
    bar.dataset.kind = state.bar || "info";
    const percent = Math.round((state.progress || 0) * 100);
    $(".luma-bar-fill").style.width = `${percent}%`;
    if (state.bar === "indeterminate") bar.removeAttribute("aria-valuenow");
    else bar.setAttribute("aria-valuenow", String(percent));
    $(".luma-stats").textContent = state.status || "";
    $(".luma-last-error").textContent = state.last_error ? `last error: ${state.last_error}` : "";
    show($(".luma-last-error"), Boolean(state.last_error));

    $(".luma-title").textContent = state.title ? `${state.title}: ` : "";
    $(".luma-message-body").textContent = state.message || "";
    $(".luma-hint-body").textContent = state.hint || "";
    show($(".luma-hint"), Boolean(state.hint));
    show($(".luma-message"), Boolean(state.message || state.hint));

    const goneBox = $(".luma-gone");
    show(goneBox, gone);
    if (gone) {
      const kind = state.task_id
        ? (state.final && !["stopped", "timed out"].includes(phase) ? "finished" : "live")
        : state.final ? "nothing" : "creating";
      $(".luma-gone-text").textContent = GONE[kind];
      $(".luma-refollow").textContent = kind === "nothing" ? "" : state.refollow || "";
      show($(".luma-refollow"), kind !== "nothing");
    }

    const stop = $(".luma-stop");
    show(stop, Boolean(state.stop) && !gone);
    stop.dataset.action = state.stop || "";
    stop.textContent = pending || { stop: "Stop", resume: "Resume", stopping: "Stopping…" }[state.stop] || "";
    stop.disabled = Boolean(pending) || state.stop === "stopping";
    stop.title = state.stop === "resume" ? "Follow the task again" : "Stop polling (the task keeps running on the gateway)";
    const download = $(".luma-download");
    show(download, Boolean(state.download) && !gone);
    download.disabled = state.download !== "ready";
    download.textContent = { running: "Downloading…", done: "Downloaded" }[state.download] || "Download";
    const saved = $(".luma-saved");
    saved.textContent = "";
    saved.classList.toggle("luma-error-text", Boolean(state.download_error && !state.saved_path));
    if (state.download_note) {
      saved.textContent = state.download_note;
    } else if (state.saved_path) {
      const path = document.createElement("code");
      path.textContent = state.saved_path;
      saved.append("saved ", path, ` (${state.saved_size})`);
    } else if (state.download_error) {
      saved.textContent = state.download_error;
    }
    show(saved, saved.textContent !== "");
    show($(".luma-actions"), !stop.hidden || !download.hidden || !saved.hidden);
    drawVideo(state);
  }

  $(".luma-stop").addEventListener("click", () => {
    const action = $(".luma-stop").dataset.action;
    if (action !== "stop" && action !== "resume") return;
    pending = action === "stop" ? "Stopping…" : "Resuming…";
    model.send({ kind: action });
    draw();
  });
  $(".luma-download").addEventListener("click", () => model.send({ kind: "download" }));
  $(".luma-dismiss").addEventListener("click", () => model.send({ kind: "dismiss" }));
  $(".luma-collapse").addEventListener("click", () => {
    model.set("collapsed", !model.get("collapsed"));
    model.save_changes();
  });

  const onState = () => { pending = null; draw(); };
  const onMessage = (message) => {
    if (message && message.kind === "video" && typeof message.url === "string") {
      videoUrl = /^https?:\/\//.test(message.url) ? message.url : null;
      draw();
    }
  };
  model.on("change:state", onState);
  model.on("change:collapsed", draw);
  model.on("change:dismissable", draw);
  model.on("msg:custom", onMessage);

  // Is the kernel that followed the task gone? Say so once, in words. The signs:
  // - the widget manager disconnects the model (comm_live_update: a restart, a shutdown);
  // - some managers mark the view with this class for the same reasons;
  // - the notebook's kernel is not the one that made the panel, or it stays idle without
  //   ever answering this view's hello (a panel restored from saved widget state).
  const markGone = () => {
    if (!gone) { gone = true; pending = null; draw(); }
  };
  const checkKernel = () => {
    if (el.classList.contains("jupyter-widgets-disconnected")) markGone();
    const made = model.get("kernel_id");
    const kernel = model.widget_manager && model.widget_manager.kernel;
    if (made && kernel && kernel.id && kernel.id !== made) markGone();
  };
  const watcher = new MutationObserver(checkKernel);
  watcher.observe(el, { attributes: true, attributeFilter: ["class"] });
  model.on("comm_live_update", markGone);
  draw();
  checkKernel();
  // Hello asks the kernel for the live video link. Any kernel that has this panel answers
  // (busy, then idle); one that stays idle for seconds without answering does not have it.
  let answered = false;
  model.send({ kind: "hello" }, { iopub: { status: () => { answered = true; } } });
  let idleSince = null;
  let ticks = 0;
  const listen = setInterval(() => {
    const kernel = model.widget_manager && model.widget_manager.kernel;
    checkKernel();
    if (answered || gone || ++ticks > 600) { clearInterval(listen); return; }
    if (!kernel || kernel.status !== "idle") { idleSince = null; return; } // not known yet
    idleSince = idleSince || Date.now();
    if (Date.now() - idleSince > 5000) { clearInterval(listen); markGone(); }
  }, 1000);

  return () => {
    clearInterval(listen);
    watcher.disconnect();
    model.off("change:state", onState);
    model.off("change:collapsed", draw);
    model.off("change:dismissable", draw);
    model.off("msg:custom", onMessage);
    model.off("comm_live_update", markGone);
  };
}

export default { render };
