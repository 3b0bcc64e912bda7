// Keeps what people type into the editor forms safe in this browser (progressive
// enhancement: without this script every form works exactly the same).
//
// A form marked data-autosave="<key>" (set by its template: the signed-in user and
// the editor's path) is copied into localStorage as it is typed, under
// "autosave:<key>", with the version the form was loaded at and the time. Nothing is
// sent anywhere: the copy only ever leaves localStorage to go back into the form.
//
// - Loading a form whose copy differs from what the form shows offers the copy above
//   the form (Restore it / Discard it). Until that is answered the copy is left as
//   it is, and what is typed meanwhile is only guarded by the prompt on leaving. A
//   copy typed over an older version than the page shows is offered with a
//   warning, and restoring it also puts back that older version and the other
//   hidden fields it was typed over, so the server's version check (a merge or the
//   conflict page) compares it with what was saved since instead of it replacing
//   that unseen.
// - Leaving a page with unsaved changes asks first (beforeunload), except when the
//   form is being submitted.
// - Submitting marks the copy "sent" and remembers, in this tab only
//   (sessionStorage), which form was sent from which page. The copy is removed only
//   when the page that answers, reached straight from that page, says the save
//   worked (data-saved on <body>). An answer showing the form again (422, 409, a
//   preview, a stale token) or any other page keeps it.
(() => {
  'use strict';

  const PREFIX = 'autosave:';
  const PENDING = 'autosave:pending'; // sessionStorage: this tab's last submission
  const TAB = 'autosave:tab'; // sessionStorage: this tab's id
  const DELAY_MS = 500; // typing pauses this long before a copy is written
  // Field types that are never copied as typed text: not typed by the person
  // (hidden, buttons), not copyable (files) or never to be kept outside the server
  // (passwords). Hidden fields are kept apart: see hiddenOf().
  const SKIPPED = new Set(['hidden', 'password', 'file', 'submit', 'button', 'reset', 'image']);
  const NEVER = new Set(['csrf_token']); // a session's secret, and stale in any other

  function randomId() {
    // crypto.randomUUID() needs a secure context; a blog served over plain http
    // is not one, getRandomValues works everywhere.
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // Storage may be switched off or full: every access is guarded, and without it
  // the page still asks before leaving with unsaved changes.
  function store(kind) {
    try {
      const s = window[kind];
      const probe = PREFIX + 'probe';
      s.setItem(probe, '1');
      s.removeItem(probe);
      return s;
    } catch {
      return null;
    }
  }
  const local = store('localStorage');
  const session = store('sessionStorage');

  function readJson(s, key) {
    if (!s) return null;
    try {
      const value = JSON.parse(s.getItem(key));
      return value && typeof value === 'object' ? value : null;
    } catch {
      return null;
    }
  }

  function writeJson(s, key, value) {
    if (!s) return false;
    try {
      s.setItem(key, JSON.stringify(value));
      return true;
    } catch {
      return false; // quota exceeded: the form and beforeunload still protect the text
    }
  }

  function remove(s, key) {
    if (s) {
      try {
        s.removeItem(key);
      } catch {
        // nothing to do: an unremovable copy is offered again, never lost
      }
    }
  }

  function tabId() {
    let id = session && session.getItem(TAB);
    if (!id) {
      id = randomId();
      if (session) session.setItem(TAB, id);
    }
    return id;
  }
  const tab = tabId();

  function copied(el) {
    return el.name && !el.disabled && !SKIPPED.has(el.type) && !NEVER.has(el.name);
  }

  // The form's fields by name; `initial` reads what the server sent (the default
  // values), not what the browser may have put back into the fields since.
  function fieldsOf(form, initial) {
    const fields = {};
    for (const el of form.elements) {
      if (!copied(el)) continue;
      if (el.type === 'checkbox') {
        fields[el.name] = initial ? el.defaultChecked : el.checked;
      } else if (el.type === 'radio') {
        if (initial ? el.defaultChecked : el.checked) fields[el.name] = el.value;
        else if (!(el.name in fields)) fields[el.name] = null;
      } else if (el.tagName === 'SELECT') {
        const options = Array.from(el.options);
        let chosen = options.filter((o) => (initial ? o.defaultSelected : o.selected));
        if (!el.multiple) {
          // With no option marked selected a single select shows its first one.
          if (initial && chosen.length === 0 && options.length) chosen = [options[0]];
          fields[el.name] = chosen.length ? chosen[chosen.length - 1].value : '';
        } else {
          fields[el.name] = chosen.map((o) => o.value);
        }
      } else if ('value' in el) {
        fields[el.name] = initial ? el.defaultValue : el.value;
      }
    }
    return fields;
  }

  // The hidden fields the text was typed over: the version and whatever else a
  // stale save is checked or merged against (the values a profile form was loaded
  // with, say). They go back with a copy typed over an older version.
  function hiddenOf(form) {
    const hidden = {};
    for (const el of form.elements) {
      if (el.type === 'hidden' && el.name && !NEVER.has(el.name)) hidden[el.name] = el.value;
    }
    return hidden;
  }

  function fill(form, fields) {
    let first = null;
    for (const el of form.elements) {
      if (!copied(el) || !(el.name in fields)) continue;
      const value = fields[el.name];
      const before = el.type === 'checkbox' || el.type === 'radio' ? el.checked : el.value;
      if (el.type === 'checkbox') el.checked = Boolean(value);
      else if (el.type === 'radio') el.checked = el.value === value;
      else if (el.tagName === 'SELECT' && el.multiple) {
        for (const o of el.options) o.selected = Array.isArray(value) && value.includes(o.value);
      } else if (typeof value === 'string') el.value = value;
      const after = el.type === 'checkbox' || el.type === 'radio' ? el.checked : el.value;
      if (!first && before !== after) first = el;
    }
    return first;
  }

  // Whether `copy` says nothing the form does not: fields the form no longer has
  // cannot be restored, so they do not count.
  function sameAs(copy, shown) {
    return Object.keys(shown).every(
      (name) => !(name in copy) || JSON.stringify(copy[name]) === JSON.stringify(shown[name]));
  }

  function sameFields(a, b) {
    return sameAs(a, b) && sameAs(b, a);
  }

  function versionOf(form) {
    const input = form.querySelector('input[name="version"]');
    const n = input ? Number.parseInt(input.value, 10) : Number.NaN;
    return Number.isNaN(n) ? null : n;
  }

  function pageUrl() {
    return location.href.split('#')[0];
  }

  // This tab's last submission, if this page is the answer to it: reached by a
  // fresh navigation (not Back, Forward or Reload, which could bring back an old
  // "saved" page) whose referrer is the page the form was sent from.
  function answeredSubmission() {
    const pending = readJson(session, PENDING);
    remove(session, PENDING);
    if (!pending || pending.tab !== tab) return null;
    const nav = performance.getEntriesByType('navigation')[0];
    if (nav && nav.type !== 'navigate') return null;
    return document.referrer === pending.from ? pending : null;
  }

  function formatTime(ms) {
    const time = document.createElement('time');
    const date = new Date(ms);
    time.dateTime = date.toISOString();
    time.textContent = date.toLocaleString([], {dateStyle: 'medium', timeStyle: 'short'});
    return time;
  }

  function element(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
    el.append(...children);
    return el;
  }

  let counter = 0;

  function manage(form, answer) {
    const key = PREFIX + form.dataset.autosave;
    const page = randomId();
    const pageVersion = versionOf(form);
    const initial = fieldsOf(form, true);
    let echoed = false; // the page shows text this tab sent that was not saved
    let offered = null; // the copy the notice offers, untouched until answered
    let submitting = false;
    let timer = null;

    const dirty = () => echoed || !sameFields(fieldsOf(form, false), initial);

    function record(sent) {
      return {fields: fieldsOf(form, false), hidden: hiddenOf(form), version: versionOf(form),
              savedAt: Date.now(), sent, tab, page};
    }

    function save() {
      clearTimeout(timer);
      timer = null;
      if (offered) return; // never overwrite a copy the person has not answered yet
      if (!dirty()) {
        // Typed back to what the page came with: nothing unsaved is left, but a copy
        // another page wrote is not this page's to remove.
        const copy = readJson(local, key);
        if (copy && copy.page === page) remove(local, key);
        return;
      }
      writeJson(local, key, record(false));
    }

    function flush() {
      if (timer !== null) save();
    }

    function edited() {
      submitting = false; // typing again after a submit that never left the page
      clearTimeout(timer);
      timer = setTimeout(save, DELAY_MS);
    }

    const copy = readJson(local, key);
    const usable = copy && copy.fields && typeof copy.fields === 'object' &&
      Number.isFinite(copy.savedAt);
    const mine = usable && copy.sent && copy.tab === tab;
    if (answer && answer.key === key) {
      // The form came back (invalid, conflict, preview, ...) with what was sent: if
      // that had unsaved changes, they are still unsaved, whatever the fields show.
      if (mine) {
        echoed = true;
        writeJson(local, key, {...copy, sent: false});
      }
    } else if (usable) {
      if (mine) writeJson(local, key, {...copy, sent: false}); // its answer never came
      if (!sameAs(copy.fields, fieldsOf(form, false))) offer(copy);
    }

    function offer(copy) {
      offered = copy;
      const id = 'autosave-notice-' + (++counter);
      const older = copy.version !== null && copy.version !== undefined &&
        pageVersion !== null && copy.version < pageVersion;
      // The region exists (empty) before its text arrives, so screen readers announce it.
      const region = element('div', {class: 'autosave-notice', role: 'status'});
      form.before(region);
      const restore = element('button', {type: 'button', class: 'button small',
                                         'aria-describedby': id}, 'Restore it');
      const discard = element('button', {type: 'button', class: 'button small secondary',
                                         'aria-describedby': id}, 'Discard it');
      const parts = [element('p', {id}, 'You have unsaved text from ',
                             formatTime(copy.savedAt), ', kept in this browser.')];
      if (older) {
        region.classList.add('older');
        parts.push(element('p', {},
          'It was typed over an older copy: someone has saved this since. If you restore ' +
          'it, your save is checked against what they saved, as any late save is, so ' +
          'nothing in it is replaced unseen.'));
      }
      parts.push(element('div', {class: 'actions'}, restore, discard));

      function answered(message, focus) {
        offered = null;
        region.replaceChildren(element('p', {}, message));
        (focus || form.querySelector('input:not([type=hidden]), textarea, select'))?.focus();
      }

      restore.addEventListener('click', () => {
        const changed = fill(form, copy.fields);
        if (older) {
          // Back to what the text was typed over, so the server sees a late save.
          const hidden = copy.hidden && typeof copy.hidden === 'object' ? copy.hidden : {};
          hidden.version = String(copy.version);
          for (const el of form.elements) {
            if (el.type === 'hidden' && Object.hasOwn(hidden, el.name)) el.value = hidden[el.name];
          }
        }
        // The copy stays as it is (its time, its version) until the next keystroke.
        answered('Your unsaved text is back in the form. Save to keep it.', changed);
      });
      discard.addEventListener('click', () => {
        const now = readJson(local, key);
        if (now && now.savedAt === copy.savedAt) remove(local, key);
        answered('The unsaved text was discarded.', null);
        save(); // what was typed meanwhile, if anything, is kept instead
      });
      setTimeout(() => region.append(...parts), 100);
    }

    form.addEventListener('input', edited);
    form.addEventListener('change', edited);
    form.addEventListener('submit', () => {
      submitting = true;
      clearTimeout(timer);
      timer = null;
      if (!offered && dirty()) writeJson(local, key, record(true));
      writeJson(session, PENDING, {key, from: pageUrl(), tab, page});
    });
    window.addEventListener('beforeunload', (event) => {
      if (submitting || !dirty()) return;
      flush();
      event.preventDefault();
      event.returnValue = true; // browsers before the preventDefault() way ask only so
    });
    window.addEventListener('pagehide', flush);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') flush();
    });
    window.addEventListener('pageshow', (event) => {
      if (!event.persisted) return;
      // Back to this very page from the back/forward cache, maybe after a submit
      // whose answer was an error page without this script: still unsaved.
      submitting = false;
      const pending = readJson(session, PENDING);
      if (pending && pending.page === page) {
        remove(session, PENDING);
        const copy = readJson(local, key);
        if (copy && copy.sent && copy.page === page) {
          echoed = true;
          writeJson(local, key, {...copy, sent: false});
        }
      }
    });
  }

  const editors = document.querySelectorAll('form[data-autosave]');
  const saved = document.body.dataset.saved !== undefined;
  // A page with neither (a sign-in step, say) leaves the submission for the next.
  const answer = editors.length || saved ? answeredSubmission() : null;
  if (answer && saved) {
    // The save this tab sent worked: its copy is no longer needed (unless another
    // tab has typed into it since, which makes it that tab's copy).
    const copy = readJson(local, answer.key);
    if (copy && copy.sent && copy.tab === tab) remove(local, answer.key);
  }
  for (const form of editors) manage(form, saved ? null : answer);

  // The editor's word count and reading time, kept up to date while typing. Counted
  // as blog/reading.py counts on the server: runs of letters and digits, with ' ’
  // and - inside them, and each Chinese or Japanese character; 230 words a minute.
  const CJK = '\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff';
  const PART = `(?:(?![${CJK}])[\\p{L}\\p{N}])+`; // letters and digits, not CJK
  const WORD = new RegExp(`[${CJK}]|${PART}(?:['’-]${PART})*`, 'gu');
  const WORDS_PER_MINUTE = 230;
  const stats = document.getElementById('writing-stats');
  const body = stats && stats.closest('form') && stats.closest('form').elements.body;
  if (body) {
    const count = () => {
      const words = (body.value.match(WORD) || []).length;
      const minutes = words ? Math.ceil(words / WORDS_PER_MINUTE) : 0;
      stats.textContent = words.toLocaleString('en-US') + (words === 1 ? ' word' : ' words') +
        ' · ' + minutes + ' min read';
    };
    let timer = null;
    body.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(count, 150); // a long body is not recounted on every key
    });
    count();
  }
  // Images dropped on or pasted into the body go into the editor's own upload
  // field (which works without this script: the form is sent and comes back with
  // the Markdown added at the end). With the script, "Upload and add to the body"
  // sends just the image to /media in the background and puts its Markdown where
  // the cursor was; nothing else of the form is sent or reloaded.
  const uploader = document.querySelector('form[data-media-url]');
  const parts = uploader && {
    body: uploader.elements.body,
    file: uploader.elements.image,
    alt: uploader.elements.image_alt,
    button: uploader.querySelector('button[name="action"][value="upload"]'),
    box: uploader.querySelector('details.image-upload'),
    status: document.getElementById('image-upload-status'),
  };
  if (parts && Object.values(parts).every(Boolean) && typeof DataTransfer === 'function') {
    let caret = null;
    const say = (text) => { parts.status.textContent = text; };
    const take = (files) => {
      const file = Array.from(files || []).find((f) => f.type.startsWith('image/'));
      if (!file) return false;
      const list = new DataTransfer();
      list.items.add(file);
      parts.file.files = list.files;
      caret = [parts.body.selectionStart, parts.body.selectionEnd];
      parts.box.open = true;
      say('Describe “' + (file.name || 'the image') + '” for people who cannot see it, then ' +
          'choose “Upload and add to the body”.');
      parts.alt.focus();
      return true;
    };
    parts.body.addEventListener('dragover', (event) => {
      if (event.dataTransfer && Array.from(event.dataTransfer.types).includes('Files')) {
        event.preventDefault();
      }
    });
    parts.body.addEventListener('drop', (event) => {
      if (event.dataTransfer && take(event.dataTransfer.files)) event.preventDefault();
    });
    parts.body.addEventListener('paste', (event) => {
      if (event.clipboardData && take(event.clipboardData.files)) event.preventDefault();
    });
    parts.button.addEventListener('click', async (event) => {
      // Without a file or a description the form goes as it would without the
      // script, and the server says what is missing beside the field.
      if (!parts.file.files.length || !parts.alt.value.trim()) return;
      event.preventDefault();
      const data = new FormData();
      data.append('csrf_token', uploader.elements.csrf_token.value);
      data.append('alt', parts.alt.value);
      data.append('file', parts.file.files[0]);
      say('Uploading…');
      parts.button.disabled = true;
      try {
        const answer = await fetch(uploader.dataset.mediaUrl, {
          method: 'POST', body: data, credentials: 'same-origin',
        });
        const page = new DOMParser().parseFromString(await answer.text(), 'text/html');
        const snippet = page.getElementById('shown-markdown');
        if (!answer.ok || !snippet) {
          const problem = page.querySelector('#f-file-error, #f-alt-error, .error-summary');
          say(problem ? problem.textContent.trim() : 'The image was not stored (' +
              answer.status + '). Your text is untouched.');
          return;
        }
        const [start, end] = caret || [parts.body.selectionStart, parts.body.selectionEnd];
        const before = parts.body.value.slice(0, start);
        const gap = before && !before.endsWith('\n\n') ? (before.endsWith('\n') ? '\n' : '\n\n') : '';
        parts.body.setRangeText(gap + snippet.value + '\n\n', start, end, 'end');
        parts.body.dispatchEvent(new Event('input', { bubbles: true })); // autosave, count
        parts.file.value = '';
        parts.alt.value = '';
        caret = null;
        say('Added to the body: ' + snippet.value);
        parts.body.focus();
      } catch {
        say('The upload did not reach the server. Your text is untouched; try again.');
      } finally {
        parts.button.disabled = false;
      }
    });
  }
})();
