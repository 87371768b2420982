"use strict";
// The media library page: sign in through the api, upload with progress,
// browse, edit, link and delete. Talks only to this origin.

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("avenue-media-token");
let cursor = null;
let current = null;

function authHeaders(extra) {
  return Object.assign({ Authorization: "Bearer " + token }, extra || {});
}

async function api(method, path, body) {
  const options = { method, headers: authHeaders() };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401) {
    signOut("Your session ended; sign in again.");
    throw new Error("signed out");
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  return { status: response.status, data };
}

function reason(data, fallback) {
  return (data && data.message) ? data.message : fallback;
}

function showLibrary() {
  $("signin-panel").hidden = true;
  $("library").hidden = false;
  $("signout").hidden = false;
  loadPresets();
  search();
}

function signOut(message) {
  token = null;
  sessionStorage.removeItem("avenue-media-token");
  $("library").hidden = true;
  $("signout").hidden = true;
  $("signin-panel").hidden = false;
  $("who").textContent = "";
  $("signin-error").textContent = message || "";
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  const response = await fetch("/admin/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: $("email").value, password: $("password").value }),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    $("signin-error").textContent = reason(data, "Sign-in failed (" + response.status + ")");
    return;
  }
  token = data.access_token;
  sessionStorage.setItem("avenue-media-token", token);
  $("who").textContent = data.user.email;
  showLibrary();
});
$("signout").addEventListener("click", () => signOut(""));

// Uploads: one request per file, each with its own progress bar.
function upload(file) {
  const row = document.createElement("li");
  row.className = "upload";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = file.name;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  const status = document.createElement("span");
  status.className = "status";
  status.textContent = "uploading…";
  row.append(name, bar, status);
  $("uploads").append(row);

  const form = new FormData();
  form.append("file", file, file.name);
  const folder = $("upload-folder").value.trim();
  if (folder) form.append("folder", folder);
  const request = new XMLHttpRequest();
  request.open("POST", "/v1/media");
  request.setRequestHeader("Authorization", "Bearer " + token);
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
  });
  request.addEventListener("load", () => {
    let data = null;
    try { data = JSON.parse(request.responseText); } catch (_) { /* not JSON */ }
    if (request.status === 200 || request.status === 201) {
      bar.value = 100;
      row.classList.add("done");
      row.dataset.id = data.id;
      status.textContent = request.status === 201 ? "uploaded" : "already in the library";
      search();
    } else {
      row.classList.add("failed");
      status.textContent = "refused: " + reason(data, "HTTP " + request.status);
    }
  });
  request.addEventListener("error", () => {
    row.classList.add("failed");
    status.textContent = "failed: the connection broke";
  });
  request.send(form);
}

$("file-input").addEventListener("change", (event) => {
  for (const file of event.target.files) upload(file);
  event.target.value = "";
});
const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  for (const file of event.dataTransfer.files) upload(file);
});

// Browsing. Images show a thumbnail; videos their first frame in a muted
// <video>; documents an icon (nothing is rendered from a PDF).
function kind(media) {
  return media.resource_type || "image";
}

// Where the original is served: /image|video|raw/upload/{id}.{ext}.
function originalPath(media) {
  return "/" + kind(media) + "/upload/" + media.id + "." + media.url.split(".").pop();
}

function thumbnail(media) {
  if (kind(media) === "video") {
    const video = document.createElement("video");
    video.src = originalPath(media) + "#t=0.1";
    video.preload = "metadata";
    video.muted = true;
    return video;
  }
  if (kind(media) === "raw") {
    const icon = document.createElement("span");
    icon.className = "file-icon";
    icon.textContent = media.url.split(".").pop().toUpperCase();
    return icon;
  }
  const img = document.createElement("img");
  img.src = "/image/upload/t_thumb/" + media.id + ".jpg";
  img.alt = media.alt || "";
  img.loading = "lazy";
  return img;
}

function shape(media) {
  return kind(media) === "image" ? media.width + "×" + media.height : media.content_type;
}

function card(media) {
  const div = document.createElement("div");
  div.className = "card " + kind(media);
  div.dataset.id = media.id;
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = media.original_name || media.id;
  name.title = name.textContent;
  const label = document.createElement("span");
  label.textContent = (media.folder ? media.folder + " · " : "") + shape(media);
  div.append(thumbnail(media), name, label);
  if (!media.refs || media.refs.length === 0) {
    const badge = document.createElement("span");
    badge.className = "badge unused";
    badge.textContent = media.pending ? "unused · expires unless saved" : "unused";
    div.append(badge);
  }
  div.addEventListener("click", () => open(media.id));
  return div;
}

async function search(more) {
  const params = new URLSearchParams({ limit: "24" });
  const folder = $("folder").value.trim();
  const tag = $("tag").value.trim();
  const name = $("name").value.trim();
  if (folder) params.set("folder", folder);
  if (tag) params.set("tag", tag);
  if (name) params.set("q", name);
  if ($("unused").checked) params.set("unused", "true");
  if (more && cursor) params.set("cursor", cursor);
  const { status, data } = await api("GET", "/v1/media?" + params);
  if (status !== 200) {
    $("empty").hidden = false;
    $("empty").textContent = reason(data, "Could not list media");
    return;
  }
  if (!more) $("grid").replaceChildren();
  for (const media of data.items) $("grid").append(card(media));
  cursor = data.next_cursor;
  $("more").hidden = !cursor;
  $("empty").hidden = $("grid").children.length > 0;
}
$("filters").addEventListener("submit", (event) => { event.preventDefault(); search(false); });
$("more").addEventListener("click", () => search(true));

// Details.
async function open(id) {
  const { status, data } = await api("GET", "/v1/media/" + id);
  if (status !== 200) return;
  current = data;
  $("details").hidden = false;
  const image = kind(data) === "image";
  $("preview").hidden = !image;
  $("preview-video").hidden = kind(data) !== "video";
  $("preview-file").hidden = kind(data) !== "raw";
  // Presets and signing are for images; other files link their original.
  $("preset").parentElement.hidden = !image;
  $("custom").parentElement.hidden = !image;
  $("sign").hidden = !image;
  if (image) {
    $("preview").src = "/image/upload/t_card/" + id + ".jpg";
    $("preview").alt = data.alt || "";
    $("preview-video").removeAttribute("src");
  } else if (kind(data) === "video") {
    $("preview-video").src = originalPath(data);
  } else {
    $("preview-file").href = originalPath(data);
    $("preview-file").textContent = "Open the " + data.url.split(".").pop().toUpperCase();
  }
  $("detail-name").textContent = data.original_name || "(not recorded)";
  $("detail-id").textContent = data.id;
  $("detail-type").textContent = image ? data.content_type + ", " + shape(data) : data.content_type;
  $("detail-size").textContent = data.bytes + " bytes";
  $("detail-backend").textContent = data.backend + (data.mirrors && data.mirrors.length ? " (mirrored to " + data.mirrors.join(", ") + ")" : "");
  $("refs").textContent = data.refs.length
    ? data.refs.join(", ")
    : data.pending
      ? "nothing: uploaded for a form never saved, it expires unless used"
      : "nothing yet (kept in the library until deleted)";
  $("alt").value = data.alt || "";
  $("tags").value = (data.tags || []).join(", ");
  $("detail-folder").value = data.folder || "";
  $("saved").textContent = "";
  $("delete-error").textContent = "";
  $("url").value = image ? "" : location.origin + originalPath(data);
  $("link-status").textContent = "";
  if (!image) {
    $("variants").textContent = "none: " + (kind(data) === "video" ? "videos" : "documents") + " are delivered as uploaded";
    return;
  }
  const variants = await api("GET", "/v1/media/" + id + "/variants");
  $("variants").textContent = variants.status === 200 && variants.data.length
    ? variants.data.map((v) => v.transformation + " → " + v.format + " " + v.width + "×" + v.height).join("; ")
    : "none rendered yet";
  showPresetUrl();
}
$("close").addEventListener("click", () => { $("details").hidden = true; current = null; });

$("edit").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!current) return;
  const tags = $("tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  const folder = $("detail-folder").value.trim();
  const alt = $("alt").value;
  const { status, data } = await api("PATCH", "/v1/media/" + current.id, {
    alt: alt === "" ? null : alt, tags, folder: folder === "" ? null : folder,
  });
  $("saved").textContent = status === 200 ? "Saved" : "Not saved: " + reason(data, "HTTP " + status);
  if (status === 200) { current = data; search(false); }
});

// Links.
async function loadPresets() {
  const { status, data } = await api("GET", "/v1/presets");
  if (status !== 200) return;
  const select = $("preset");
  select.replaceChildren();
  const original = document.createElement("option");
  original.value = "";
  original.textContent = "original";
  select.append(original);
  for (const preset of data) {
    const option = document.createElement("option");
    option.value = preset.name;
    option.textContent = preset.name + " (" + preset.transformation + ")";
    select.append(option);
  }
}

function extension() {
  const type = current.content_type.split("/")[1];
  return type === "jpeg" ? "jpg" : type;
}

function showPresetUrl() {
  if (!current) return;
  const preset = $("preset").value;
  const path = preset
    ? "/image/upload/t_" + preset + "/" + current.id + ".jpg"
    : "/image/upload/" + current.id + "." + extension();
  $("url").value = location.origin + path;
}
$("preset").addEventListener("change", showPresetUrl);

$("sign").addEventListener("click", async () => {
  if (!current) return;
  const transformation = $("custom").value.trim();
  if (!transformation) { showPresetUrl(); return; }
  const { status, data } = await api("POST", "/v1/sign", { transformation, file: current.id + ".jpg" });
  if (status === 200) {
    $("url").value = location.origin + data.path;
    $("link-status").textContent = "Signed";
  } else {
    $("link-status").textContent = reason(data, "Could not sign");
  }
});

$("copy").addEventListener("click", async () => {
  const url = $("url").value;
  try {
    await navigator.clipboard.writeText(url);
    $("link-status").textContent = "Copied";
  } catch (_) {
    $("url").select();
    $("link-status").textContent = document.execCommand("copy") ? "Copied" : "Select and copy the URL";
  }
});

$("delete").addEventListener("click", async () => {
  if (!current) return;
  const { status, data } = await api("DELETE", "/v1/media/" + current.id);
  if (status === 204) {
    document.querySelector('.card[data-id="' + current.id + '"]')?.remove();
    $("details").hidden = true;
    current = null;
  } else if (status === 409) {
    $("delete-error").textContent = "Still in use: " + reason(data, "referenced elsewhere");
  } else {
    $("delete-error").textContent = reason(data, "Could not delete (" + status + ")");
  }
});

if (token) showLibrary();
