/* bodyscene human study: runs one participant's trial list from design.js (written by
   `bodyscene human-study`), then offers the data as a CSV download and POSTs them to the server's /submit.
   CSV columns are the humans format (bodyscene/schema.py, docs/humans.md): participant, stimulus_id, condition,
   label, response, rt_ms, trial, choices (the offered class names joined by "|"), kind (stimulus, practice or
   attention), unit (frame or clip). Rows come in the order they happened: practice, then the trials with the
   attention checks among them. Nothing is randomised here: order, conditions and answer options were drawn in
   Python with the participant's recorded seed. */
"use strict";

const FIELDS = ["participant", "stimulus_id", "condition", "label", "response", "rt_ms", "trial", "choices", "kind", "unit"];
const CHOICE_SEPARATOR = "|";

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function toCsv(rows) {
  const cell = (v) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [FIELDS.join(","), ...rows.map((r) => FIELDS.map((f) => cell(r[f])).join(","))].join("\n") + "\n";
}

/* Served: the page's link carries ?token=T (a personal link), or ?key=K plus the platform's participant id
   (a study link, exchanged for a token at POST assign); POST session then returns this participant's own
   trial list. From disk (file://, design.js loaded): ?participant=N, else a random list. */
async function post(route, body, keepalive = false) {
  return fetch(route, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    keepalive: keepalive,
  });
}

async function loadSession() {
  const params = new URLSearchParams(window.location.search);
  if (window.BODYSCENE_DESIGN) {
    const design = window.BODYSCENE_DESIGN;
    const fromUrl = params.get("participant");
    const participant = fromUrl !== null ? fromUrl.trim() : String(1 + Math.floor(Math.random() * design.participants.length));
    return { design, participant, token: null };
  }
  let token = params.get("token");
  if (!token && params.get("key")) {
    const reply = await post("assign", { key: params.get("key"), params: Object.fromEntries(params) });
    const body = await reply.json().catch(() => ({}));
    if (!reply.ok) return { error: body.error || `error ${reply.status}` };
    token = body.token;
    params.delete("key");
    params.set("token", token);
    window.history.replaceState(null, "", `?${params}`);
  }
  if (!token) return { error: "This page needs the personal link you were sent." };
  const reply = await post("session", { token });
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) return { error: body.error || `error ${reply.status}` };
  return { design: body, participant: body.participants[0].participant, token };
}

function showError(html) {
  document.body.innerHTML = `<p class="bs-error">${html}</p>`;
}

(async function main() {
  let session;
  try {
    session = await loadSession();
  } catch (e) {
    session = { error: "Could not reach the server; please try again later." };
  }
  if (session.error) {
    showError(escapeHtml(session.error));
    return;
  }
  const { design, participant, token } = session;
  const settings = design.settings;
  const list = design.participants.find((p) => p.participant === participant);
  if (!list) {
    showError(
      `Unknown participant number ${escapeHtml(participant)}: open this page as ` +
        `index.html?participant=N with N from 1 to ${design.participants.length}.`
    );
    return;
  }
  const name = (c) => design.display_names[c] || c;
  const choiceButton = (choice) =>
    `<button class="jspsych-btn bs-choice" data-label="${escapeHtml(choice)}">${escapeHtml(name(choice))}</button>`;
  /* One trial showing t: a still image (image-button-response), or a clip (a <video> in html-button-response):
     muted, played once or looped (settings.clip_loop), hidden after settings.clip_max_ms, and with
     answer_ends_clip false the buttons wait until the clip has ended. */
  const showing = (t, prompt, data, onFinish) => {
    if (t.unit !== "clip")
      return {
        type: jsPsychImageButtonResponse,
        stimulus: t.image,
        choices: t.choices,
        button_html: choiceButton,
        stimulus_height: settings.image_height,
        render_on_canvas: false,
        stimulus_duration: settings.time_limit_ms,
        prompt,
        data,
        on_finish: onFinish,
      };
    const loop = settings.clip_loop ? " loop" : "";
    return {
      type: jsPsychHtmlButtonResponse,
      stimulus: `<video class="bs-video" src="${escapeHtml(t.video)}" height="${settings.image_height}" muted
                 autoplay playsinline preload="auto" data-stimulus="${escapeHtml(t.stimulus_id)}"${loop}></video>`,
      choices: t.choices,
      button_html: choiceButton,
      prompt,
      data,
      on_load: () => {
        const video = document.querySelector("video.bs-video");
        video.muted = true;
        video.play().catch(() => {});
        const limit = settings.clip_max_ms || settings.time_limit_ms;
        const stop = () => {
          video.pause();
          video.style.visibility = "hidden";
          video.dataset.state = "stopped";
        };
        if (limit) setTimeout(stop, limit);
        if (!settings.answer_ends_clip) {
          const buttons = document.querySelectorAll(".bs-choice");
          buttons.forEach((b) => (b.disabled = true));
          const release = () => buttons.forEach((b) => (b.disabled = false));
          video.addEventListener("ended", release);
          if (limit) setTimeout(release, limit);
        }
        video.addEventListener("ended", () => (video.dataset.state = "ended"));
      },
      on_finish: onFinish,
    };
  };
  const mainTotal = list.trials.length;
  let mainDone = 0;

  const jsPsych = initJsPsych({
    show_progress_bar: true,
    auto_update_progress_bar: false,
    message_progress_bar: "Progress",
    on_finish: () => finish(jsPsych, design, list, token),
  });
  /* Partial records (flagged incomplete): every 10 trials, and when the participant leaves the page. */
  let finished = false;
  const savePartial = (keepalive) => {
    if (!token || finished) return;
    const data = collectData(jsPsych, list);
    post("submit", { token, complete: false, rows: data.rows, attention: data.attention, jspsych: keepalive ? [] : data.jspsych }, keepalive).catch(() => {});
  };
  window.addEventListener("pagehide", () => savePartial(true));
  const stepSaved = () => {
    if (mainDone % 10 === 0) savePartial(false);
  };
  window.bsMarkFinished = () => {
    finished = true;
  };
  const stepProgress = () => {
    mainDone += 1;
    jsPsych.progressBar.progress = Math.min(1, mainDone / mainTotal);
  };
  jsPsych.data.addProperties({ participant: participant, participant_seed: list.seed });

  const timeline = [];
  timeline.push({
    type: jsPsychPreload,
    images: [...design.practice.filter((t) => t.image).map((t) => t.image), ...list.trials.filter((t) => t.image).map((t) => t.image)],
    message: "<p>Loading images…</p>",
  });
  const consent =
    settings.consent_html ||
    `<div class="bs-text"><h2>Action recognition study</h2>
     <p>You will see ${list.trials.some((t) => t.unit === "clip") ? "short video clips" : "photographs"} of people
     performing actions and choose which action each one shows.
     Some images show only the person (the rest is black); others show only the scene, with the person removed.
     It takes about ${Math.max(1, Math.round((mainTotal * 4) / 60))} minutes.</p>
     <p>Taking part is voluntary; you may stop at any time by closing this page. We record your answers and
     response times under a participant number, nothing that identifies you.</p>
     <p>By clicking "I agree" you confirm that you are 18 or older and agree to take part.</p></div>`;
  timeline.push({
    type: jsPsychHtmlButtonResponse,
    stimulus: consent,
    choices: ["I agree"],
    button_html: (c) => `<button class="jspsych-btn" id="bs-consent">${c}</button>`,
    data: { bs_kind: "consent" },
  });
  const timing = settings.time_limit_ms
    ? `Each image is shown for only ${settings.time_limit_ms} ms, then disappears; answer anyway.`
    : "Each image stays on screen until you answer.";
  timeline.push({
    type: jsPsychInstructions,
    pages: [
      `<div class="bs-text"><h2>Instructions</h2><p>In each trial you see ${list.trials.some((t) => t.unit === "clip") ? "one short clip" : "one image"}. Click the button with the
       action the person is performing (or, when the person has been removed, was most likely performing).</p>
       <p>${timing} There is no time pressure on the answer, but go with your first impression.</p></div>`,
      `<div class="bs-text"><p>Now and then a screen asks you to click a particular button: please do exactly
       that, it tells us you are paying attention.</p><p>${
         design.practice.length
           ? `First come ${design.practice.length} practice trials with feedback.`
           : "There are no practice trials."
       } Click "Next" to start.</p></div>`,
    ],
    show_clickable_nav: true,
    data: { bs_kind: "instructions" },
  });

  for (const t of design.practice) {
    timeline.push(
      showing(
        t,
        `<p class="bs-question">Practice: which action is this?</p>`,
        { bs_kind: "practice", stimulus_id: t.stimulus_id, label: t.label, bs_choices: t.choices, bs_unit: t.unit || "frame" },
        (data) => {
          data.bs_response = t.choices[data.response];
        }
      )
    );
    timeline.push({
      type: jsPsychHtmlButtonResponse,
      stimulus: () => {
        const last = jsPsych.data.getLastTrialData().values()[0];
        return last.bs_response === t.label
          ? `<p class="bs-feedback-correct">Correct: ${escapeHtml(name(t.label))}.</p>`
          : `<p class="bs-feedback-wrong">Not quite: this was ${escapeHtml(name(t.label))}.</p>`;
      },
      choices: ["Continue"],
      button_html: (c) => `<button class="jspsych-btn" id="bs-continue">${c}</button>`,
      data: { bs_kind: "feedback" },
    });
  }
  timeline.push({
    type: jsPsychHtmlButtonResponse,
    stimulus: `<div class="bs-text"><p>${design.practice.length ? "The practice is over. " : ""}The real
               trials start now; there is no feedback. ${mainTotal} screens to go.</p></div>`,
    choices: ["Start"],
    button_html: (c) => `<button class="jspsych-btn" id="bs-start">${c}</button>`,
    data: { bs_kind: "start" },
  });

  for (const t of list.trials) {
    if (t.kind === "attention") {
      timeline.push({
        type: jsPsychHtmlButtonResponse,
        stimulus: `<p class="bs-attention" data-target="${escapeHtml(t.target)}">Attention check: please click
                   <b>${escapeHtml(name(t.target))}</b>.</p>`,
        choices: t.choices,
        button_html: choiceButton,
        data: { bs_kind: "attention", target: t.target, check: t.check, bs_choices: t.choices },
        on_finish: (data) => {
          data.bs_response = t.choices[data.response];
          stepProgress();
        },
      });
      continue;
    }
    timeline.push(
      showing(
        t,
        `<p class="bs-question">Which action is this?</p>`,
        {
          bs_kind: "stimulus",
          stimulus_id: t.stimulus_id,
          condition: t.condition,
          label: t.label,
          trial: t.trial,
          bs_choices: t.choices,
          bs_unit: t.unit || "frame",
        },
        (data) => {
          data.bs_response = t.choices[data.response];
          stepProgress();
        }
      )
    );
  }
  jsPsych.run(timeline);
})();

function dataRow(d, participant) {
  const common = { participant, response: d.bs_response, rt_ms: d.rt, choices: d.bs_choices.join(CHOICE_SEPARATOR), kind: d.bs_kind };
  if (d.bs_kind === "attention")
    return { ...common, stimulus_id: `attention-${d.check}`, condition: "", label: d.target, trial: null, unit: "" };
  if (d.bs_kind === "practice")
    return { ...common, stimulus_id: d.stimulus_id, condition: "original", label: d.label, trial: null, unit: d.bs_unit };
  return { ...common, stimulus_id: d.stimulus_id, condition: d.condition, label: d.label, trial: d.trial, unit: d.bs_unit };
}

function collectData(jsPsych, list) {
  const kinds = new Set(["practice", "stimulus", "attention"]);
  const rows = jsPsych.data
    .get()
    .values()
    .filter((d) => kinds.has(d.bs_kind))
    .map((d) => dataRow(d, list.participant));
  const attention = jsPsych.data
    .get()
    .filter({ bs_kind: "attention" })
    .values()
    .map((d) => ({ target: d.target, response: d.bs_response, passed: d.target === d.bs_response }));
  return { rows, attention, jspsych: jsPsych.data.get().values() };
}

/* End page: the CSV as a download, and the same rows (plus every jsPsych trial) POSTed to the server. */
async function finish(jsPsych, design, list, token) {
  window.bsMarkFinished();
  const { rows, attention, jspsych } = collectData(jsPsych, list);
  const csv = toCsv(rows);
  const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
  const display = jsPsych.getDisplayElement();
  display.innerHTML = `<div class="bs-text"><h2>Thank you!</h2>
    <p id="bs-upload-status" data-state="sending">Saving your responses…</p>
    <p><a id="bs-download" class="jspsych-btn" href="${url}"
          download="bodyscene-participant-${escapeHtml(list.participant)}.csv">Download your responses (CSV)</a></p>
    </div>`;
  const status = document.getElementById("bs-upload-status");
  const report = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  if (window.location.protocol === "file:") {
    report("offline", "Please download the CSV below and send it to the experimenter.");
    return;
  }
  const submission = {
    token: token,
    complete: true,
    jspsych: jspsych,
    format: design.format,
    participant: list.participant,
    participant_seed: list.seed,
    design_seed: design.settings.seed,
    rows: rows,
    attention: attention,
    user_agent: navigator.userAgent,
    finished_at: new Date().toISOString(),
  };
  try {
    const reply = await post("submit", submission);
    const body = await reply.json().catch(() => ({}));
    if (reply.ok && design.completion_url) {
      report("saved", "Your responses were saved. Returning you to the study site…");
      status.insertAdjacentHTML("afterend", `<p><a id="bs-complete" href="${escapeHtml(design.completion_url)}">Continue</a></p>`);
      setTimeout(() => window.location.assign(design.completion_url), 3000);
    } else if (reply.ok) report("saved", "Your responses were saved. You may close this page.");
    else report("failed", `The server did not accept the data (${body.error || reply.status}); please download the CSV below and send it to the experimenter.`);
  } catch (e) {
    report("failed", "Could not reach the server; please download the CSV below and send it to the experimenter.");
  }
}
