// hip-review's page. Every number shown comes from the server (hip_mmpose.geometry through
// the records): the page draws the segments the server returns and computes no geometry.
// Names from the server are only ever set as text (textContent), never as HTML.
'use strict';

(() => {
  const TOKEN = document.querySelector('meta[name="hip-review-token"]').content;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const HIPS = ['image_left', 'image_right'];
  const COUNT = 12;
  const $ = (id) => document.getElementById(id);
  const svg = $('film');

  const ui = {
    films: [], // the list (GET /api/films)
    order: [], // file names in the order shown
    sortKey: 'review',
    sortDir: 1,
    status: null,
    name: null, // the film open
    view: null, // its GET /api/films/<file>
    points: [], // its points as drawn: [[x, y] | null]
    live: null, // a measurement while dragging (POST .../measure)
    box: null, // the SVG viewBox {x, y, w, h}
    gesture: null, // {kind: 'point'|'pan', ...}
    measureBusy: false,
    measureAgain: false,
    seq: 0, // raised by each saved change; older measurements are dropped
    busy: false,
  };

  // ------------------------------------------------------------------ server
  async function api(method, path, body) {
    const options = { method, headers: {} };
    if (method !== 'GET') {
      options.headers['X-Review-Token'] = TOKEN;
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body || {});
    }
    const response = await fetch(path, options);
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const error = new Error((data && data.error) || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }
  const filmPath = (name, tail) => `/api/films/${encodeURIComponent(name)}${tail || ''}`;

  function say(text, kind) {
    const box = $('message');
    box.textContent = text || '';
    box.className = kind || '';
  }

  // ------------------------------------------------------------------ formatting
  const fmt = (value, digits) => (value === null || value === undefined ? '\u2013' : Number(value).toFixed(digits));
  const deg = (value) => (value === null || value === undefined ? '\u2013' : `${Number(value).toFixed(2)}\u00b0`);

  function setText(id, text, cls) {
    const el = $(id);
    el.textContent = text;
    if (cls !== undefined) el.className = cls;
  }

  // ------------------------------------------------------------------ the list
  const GRADE_ORDER = { I: 1, II: 2, III: 3, IV: 4, undefined: 0 };
  function sortValue(film, key) {
    if (key === 'review') return [film.needs_review ? 0 : 1, film.file];
    if (key === 'file') return [film.file];
    if (key === 'state') return [film.state, film.file];
    const [kind, ...rest] = key.split('_');
    const hip = rest.join('_');
    if (kind === 'ai') {
      const v = film.acetabular_index[hip];
      return [v === null ? Infinity : -v, film.file];
    }
    const g = film.ihdi_grade[hip];
    return [g === null ? 9 : -(GRADE_ORDER[g] || 0), film.file];
  }
  function compare(a, b) {
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      if (a[i] < b[i]) return -1;
      if (a[i] > b[i]) return 1;
    }
    return 0;
  }

  function shown(film) {
    const choice = $('state-filter').value;
    if (choice === 'flagged' && !film.needs_review) return false;
    if (choice === 'edited' && !(film.edited && film.state === 'unchecked')) return false;
    if (['unchecked', 'accepted', 'corrected'].includes(choice) && film.state !== choice) return false;
    const text = $('filter').value.trim().toLowerCase();
    if (!text) return true;
    const grades = HIPS.map((h) => film.ihdi_grade[h] || '').join(' ');
    const haystack = [film.file, film.state, grades, ...(film.flags || []), ...(film.review_reasons || [])]
      .join(' ')
      .toLowerCase();
    return haystack.includes(text);
  }

  function renderList() {
    const films = ui.films.filter(shown);
    films.sort((a, b) => ui.sortDir * compare(sortValue(a, ui.sortKey), sortValue(b, ui.sortKey)));
    ui.order = films.map((f) => f.file);
    const body = $('film-rows');
    body.textContent = '';
    for (const film of films) {
      const row = document.createElement('tr');
      row.dataset.file = film.file;
      if (film.file === ui.name) row.classList.add('current');
      const cell = (text, cls, title) => {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        if (title) td.title = title;
        row.appendChild(td);
      };
      cell(film.needs_review ? '!' : '', 'flag', (film.review_reasons || []).join('\n'));
      cell(film.file, 'file', film.file);
      let state = film.state;
      if (film.error) state = 'error';
      else if (!film.measured && !ui.status.blind && !film.placed) state = ui.status.pending ? 'measuring' : 'no result';
      cell(state + (film.edited && film.state === 'unchecked' ? ' *' : ''), film.error ? 'error-text' : `state-${film.state}`,
        film.error || (film.edited ? 'points moved' : ''));
      for (const hip of HIPS) cell(fmt(film.acetabular_index[hip], 1));
      for (const hip of HIPS) {
        const g = film.ihdi_grade[hip];
        cell(g || '\u2013', g ? `grade-${g}` : '');
      }
      row.addEventListener('click', () => openFilm(film.file));
      body.appendChild(row);
    }
    for (const th of document.querySelectorAll('#films th')) {
      th.classList.remove('sorted-asc', 'sorted-desc');
      if (th.dataset.sort === ui.sortKey) th.classList.add(ui.sortDir > 0 ? 'sorted-asc' : 'sorted-desc');
    }
    const done = ui.films.filter((f) => f.state !== 'unchecked').length;
    setText('counts', `${done} of ${ui.films.length} signed off`);
  }

  async function loadList() {
    ui.films = await api('GET', '/api/films');
    renderList();
  }

  async function loadStatus() {
    ui.status = await api('GET', '/api/status');
    setText('reviewer', `reader: ${ui.status.reviewer}`);
    setText('mode', ui.status.blind ? 'blind reading' : '');
    document.body.classList.toggle('blind', ui.status.blind);
    setText('progress', ui.status.pending ? `measuring: ${ui.status.measured} of ${ui.status.films} films` : '');
    return ui.status;
  }

  // ------------------------------------------------------------------ the film
  function el(name, attrs, parent) {
    const node = document.createElementNS(SVGNS, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  function unitsPerPixel() {
    const rect = svg.getBoundingClientRect();
    if (!ui.box || !rect.width || !rect.height) return 1;
    return Math.max(ui.box.w / rect.width, ui.box.h / rect.height);
  }

  function setBox(box) {
    ui.box = box;
    svg.setAttribute('viewBox', `${box.x} ${box.y} ${box.w} ${box.h}`);
  }

  function fit() {
    const size = ui.view && ui.view.image_size;
    if (size) setBox({ x: 0, y: 0, w: size[0], h: size[1] });
    draw();
  }

  function toFilm(event) {
    const pt = svg.createSVGPoint();
    pt.x = event.clientX;
    pt.y = event.clientY;
    return pt.matrixTransform(svg.getScreenCTM().inverse());
  }

  const complete = (points) => points.length === COUNT && points.every((p) => p);
  const partialAllowed = () => ui.view && (ui.view.blind || !ui.view.model_keypoints);
  const placing = () => ui.view && !ui.view.error && !complete(ui.points);

  function pointClass(index) {
    const name = (ui.view.keypoint_names || [])[index] || '';
    if (name.includes('roof')) return 'roof';
    if (name.includes('triradiate')) return 'triradiate';
    return 'femur';
  }

  function draw() {
    const view = ui.view;
    for (const id of ['lines', 'model-points', 'points', 'labels']) $(id).textContent = '';
    if (!view || view.error) return;
    const u = unitsPerPixel();
    const lines = (ui.live && ui.live.lines) || view.lines;
    const gl = $('lines');
    const segment = (seg, cls) => {
      if (!seg || seg.flat().some((v) => v === null)) return;
      el('line', { x1: seg[0][0], y1: seg[0][1], x2: seg[1][0], y2: seg[1][1], class: cls }, gl);
    };
    if (lines) {
      segment(lines.h_line[0], 'h_line');
      for (let h = 0; h < 2; h += 1) {
        segment(lines.roof[h], 'roof');
        segment(lines.p_line[h], 'p_line');
        segment(lines.d_line[h], 'd_line');
      }
    }
    // the model's points where the reader's differ, joined to them
    const model = view.model_keypoints;
    if (model) {
      model.forEach((m, i) => {
        const p = ui.points[i];
        if (!p || m[0] === null || (p[0] === m[0] && p[1] === m[1])) return;
        el('circle', { cx: m[0], cy: m[1], r: 5 * u }, $('model-points'));
        segment([[m[0], m[1]], p], 'moved');
      });
    }
    const labels = $('labels');
    if (lines) {
      for (let h = 0; h < 2; h += 1) {
        const hp = lines.h_point[h];
        if (hp[0] !== null) el('circle', { cx: hp[0], cy: hp[1], r: 4 * u, class: 'h_point' }, labels);
      }
    }
    const measured = ui.live || view;
    for (let h = 0; h < 2; h += 1) {
      const top = lines && lines.p_line[h][0];
      if (!top || top[0] === null) continue;
      const hip = HIPS[h];
      const ai = measured.acetabular_index[hip];
      const grade = measured.ihdi_grade[hip];
      const text = el('text', {
        x: top[0] + (h === 0 ? -10 : 10) * u,
        y: top[1] - 8 * u,
        'font-size': 14 * u,
        'stroke-width': 3 * u,
        'text-anchor': h === 0 ? 'end' : 'start',
      }, labels);
      text.textContent = ai === null ? 'not measured' : `AI ${Number(ai).toFixed(1)}\u00b0 \u00b7 IHDI ${grade}`;
    }
    const spacing = view.pixel_spacing_mm;
    if (spacing && view.image_size) {
      const length = 10 / spacing[0];
      const x = view.image_size[0] * 0.03;
      const y = view.image_size[1] * 0.96;
      el('line', { x1: x, y1: y, x2: x + length, y2: y, class: 'scale' }, gl);
      const t = el('text', { x, y: y - 5 * u, 'font-size': 12 * u, 'stroke-width': 3 * u }, labels);
      t.textContent = '10 mm';
    }
    const gp = $('points');
    ui.points.forEach((p, i) => {
      if (!p) return;
      const score = view.keypoints[i] ? view.keypoints[i][2] : null;
      const cls = [pointClass(i)];
      if (score !== null && score !== undefined && ui.status && score < ui.status.score_thr) cls.push('low');
      if (ui.gesture && ui.gesture.kind === 'point' && ui.gesture.index === i) cls.push('dragging');
      const c = el('circle', { cx: p[0], cy: p[1], r: 6 * u, class: cls.join(' ') }, gp);
      c.dataset.index = String(i);
      const title = el('title', {}, c);
      title.textContent = `point ${i + 1}: ${(view.keypoint_names || [])[i] || ''}`;
      const n = el('text', {
        x: p[0] + 8 * u, y: p[1] - 8 * u, 'font-size': 11 * u, 'stroke-width': 3 * u,
      }, labels);
      n.textContent = String(i + 1);
    });
    svg.classList.toggle('placing', placing());
  }

  function hipOffsets(measured, hip) {
    const mm = measured.h_point_mm && measured.h_point_mm[hip];
    if (mm) return [`${fmt(mm.lateral_of_p, 1)} mm`, `${fmt(mm.below_h, 1)} mm`];
    const lines = (ui.live && ui.live.lines) || ui.view.lines;
    const px = lines && lines.h_point_px[hip];
    if (!px || (measured.acetabular_index[hip] === null && !ui.view.blind)) return ['\u2013', '\u2013'];
    return [`${fmt(px.lateral_of_p, 1)} px`, `${fmt(px.below_h, 1)} px`];
  }

  function renderDetail() {
    const view = ui.view;
    if (!view) return;
    setText('film-name', view.file);
    const edited = view.edited ? ' \u00b7 points moved' : '';
    const when = view.time ? ` \u00b7 ${view.time}` : '';
    setText('film-state', view.error ? `cannot be read: ${view.error}` : `${view.state} \u00b7 version ${view.version}${edited}${when}`);
    const measured = ui.live || view;
    for (const hip of HIPS) {
      const ai = measured.acetabular_index ? measured.acetabular_index[hip] : null;
      const cell = $(`ai-${hip}`);
      cell.textContent = deg(ai);
      cell.dataset.value = ai === null || ai === undefined ? '' : String(ai);
      const grade = measured.ihdi_grade ? measured.ihdi_grade[hip] : null;
      setText(`grade-${hip}`, grade || '\u2013', grade ? `grade-${grade}` : '');
      const model = view.model || {};
      setText(`model-ai-${hip}`, deg(model.acetabular_index ? model.acetabular_index[hip] : null));
      const interval = model.acetabular_index_interval && model.acetabular_index_interval[hip];
      setText(`interval-${hip}`, interval ? `${fmt(interval[0], 1)}\u2013${fmt(interval[1], 1)}\u00b0` : '\u2013');
      const p2 = model.p_ihdi_ge2 && model.p_ihdi_ge2[hip];
      setText(`p2-${hip}`, p2 === null || p2 === undefined ? '\u2013' : fmt(p2, 2));
      const [lat, below] = view.error ? ['\u2013', '\u2013'] : hipOffsets(measured, hip);
      setText(`hp-lat-${hip}`, lat);
      setText(`hp-below-${hip}`, below);
      setText(`nm-${hip}`, (measured.not_measured && measured.not_measured[hip]) || '');
    }
    const flags = $('flags');
    flags.textContent = '';
    const items = [...(view.review_reasons || [])];
    for (const f of measured.flags || []) if (!items.includes(f)) items.push(f);
    for (const text of items) {
      const li = document.createElement('li');
      li.textContent = text;
      flags.appendChild(li);
    }
    const next = ui.points.findIndex((p) => !p);
    const index = next >= 0 ? next : ui.points.length;
    setText('placing', placing() && index < COUNT
      ? `Click to place point ${index + 1} of ${COUNT}: ${(view.keypoint_names || [])[index] || ''}` : '');
    $('undo').disabled = !view.undo;
    $('accept').disabled = Boolean(view.error) || !complete(ui.points);
    $('reset').disabled = Boolean(view.error);
  }

  function takeView(view) {
    ui.view = view;
    ui.live = null;
    ui.seq += 1;
    ui.points = (view.keypoints || []).map((k) => (k[0] === null ? null : [k[0], k[1]]));
    renderDetail();
    draw();
  }

  async function openFilm(name) {
    if (!name) return;
    const first = ui.name !== name;
    ui.name = name;
    say('');
    try {
      const view = await api('GET', filmPath(name));
      if (ui.name !== name) return;
      if (first) {
        delete document.body.dataset.shown;
        $('film-image').setAttribute('href', filmPath(name, '/image'));
      }
      ui.view = view;
      if (view.image_size) {
        $('film-image').setAttribute('width', view.image_size[0]);
        $('film-image').setAttribute('height', view.image_size[1]);
      }
      if (first || !ui.box) fit();
      takeView(view);
      renderList();
      updateSummary(view);
    } catch (err) {
      say(`${name}: ${err.message}`, 'error');
    }
  }

  function updateSummary(view) {
    const film = ui.films.find((f) => f.file === view.file);
    if (!film) return;
    Object.assign(film, {
      state: view.state, edited: view.edited, version: view.version, measured: view.measured,
      acetabular_index: view.acetabular_index || film.acetabular_index,
      ihdi_grade: view.ihdi_grade || film.ihdi_grade, flags: view.flags || [], placed: view.placed,
    });
    renderList();
  }

  // ------------------------------------------------------------------ changes
  async function change(method, tail, body) {
    const name = ui.name;
    if (!name || ui.busy) return null;
    ui.busy = true;
    try {
      const view = await api(method, filmPath(name, tail), body);
      if (ui.name === name) takeView(view);
      updateSummary(view);
      return view;
    } catch (err) {
      say(`${name}: ${err.message}`, 'error');
      if (ui.name === name) {
        const view = await api('GET', filmPath(name)).catch(() => null);
        if (view && ui.name === name) takeView(view);
      }
      return null;
    } finally {
      ui.busy = false;
    }
  }

  const save = () => change('PUT', '/keypoints', { keypoints: ui.points, version: ui.view.version });

  async function accept() {
    if (!ui.view || !complete(ui.points)) return;
    const view = await change('POST', '/state', { state: 'accepted', version: ui.view.version });
    if (view) {
      say(`${view.file}: ${view.state}`, 'ok');
      step(1);
    }
  }

  function step(delta) {
    if (!ui.order.length) return;
    const at = ui.order.indexOf(ui.name);
    const next = at < 0 ? 0 : Math.min(Math.max(at + delta, 0), ui.order.length - 1);
    if (ui.order[next] !== ui.name) openFilm(ui.order[next]);
  }

  function requestMeasure() {
    if (!complete(ui.points)) return;
    if (ui.measureBusy) {
      ui.measureAgain = true;
      return;
    }
    ui.measureBusy = true;
    const name = ui.name;
    const seq = ui.seq;
    api('POST', filmPath(name, '/measure'), { keypoints: ui.points })
      .then((live) => {
        if (ui.name === name && ui.seq === seq) {
          ui.live = live;
          renderDetail();
          draw();
        }
      })
      .catch((err) => say(`${name}: ${err.message}`, 'error'))
      .finally(() => {
        ui.measureBusy = false;
        if (ui.measureAgain) {
          ui.measureAgain = false;
          requestMeasure();
        }
      });
  }

  // ------------------------------------------------------------------ mouse
  function clampToFilm(p) {
    const [w, h] = ui.view.image_size;
    const r = (v) => Math.round(v * 100) / 100;
    return [r(Math.min(Math.max(p.x, 0), w)), r(Math.min(Math.max(p.y, 0), h))];
  }

  svg.addEventListener('pointerdown', (event) => {
    if (!ui.view || ui.view.error || event.button !== 0) return;
    const target = event.target;
    svg.setPointerCapture(event.pointerId);
    if (target.tagName === 'circle' && target.dataset.index !== undefined && !ui.busy) {
      ui.gesture = { kind: 'point', index: Number(target.dataset.index), moved: false };
    } else {
      ui.gesture = { kind: 'pan', x: event.clientX, y: event.clientY, box: { ...ui.box }, moved: false };
      svg.classList.add('panning');
    }
    event.preventDefault();
  });

  svg.addEventListener('pointermove', (event) => {
    const g = ui.gesture;
    if (!g) return;
    if (g.kind === 'point') {
      ui.points[g.index] = clampToFilm(toFilm(event));
      g.moved = true;
      draw();
      requestMeasure();
    } else {
      const u = unitsPerPixel();
      const dx = event.clientX - g.x;
      const dy = event.clientY - g.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) g.moved = true;
      if (g.moved) setBox({ ...g.box, x: g.box.x - dx * u, y: g.box.y - dy * u });
    }
  });

  function endGesture(event) {
    const g = ui.gesture;
    if (!g) return;
    ui.gesture = null;
    svg.classList.remove('panning');
    if (g.kind === 'point') {
      if (g.moved) {
        ui.points[g.index] = clampToFilm(toFilm(event));
        save();
      } else draw();
    } else if (!g.moved && placing() && event.type === 'pointerup') {
      const p = clampToFilm(toFilm(event));
      const gap = ui.points.findIndex((q) => !q);
      if (gap >= 0) ui.points[gap] = p;
      else ui.points.push(p);
      draw();
      renderDetail();
      if (partialAllowed() || complete(ui.points)) save();
    }
  }
  svg.addEventListener('pointerup', endGesture);
  svg.addEventListener('pointercancel', endGesture);

  svg.addEventListener('wheel', (event) => {
    if (!ui.box || !ui.view || !ui.view.image_size) return;
    event.preventDefault();
    const p = toFilm(event);
    const factor = Math.exp(Math.max(-0.5, Math.min(0.5, event.deltaY * 0.0015)));
    const w = ui.box.w * factor;
    const full = ui.view.image_size[0];
    if (w < full / 40 || w > full * 3) return;
    setBox({
      x: p.x - (p.x - ui.box.x) * factor,
      y: p.y - (p.y - ui.box.y) * factor,
      w,
      h: ui.box.h * factor,
    });
    draw();
  }, { passive: false });

  svg.addEventListener('dblclick', fit);
  // the film on screen: its pixels loaded (and its points drawn before)
  $('film-image').addEventListener('load', () => {
    document.body.dataset.shown = ui.name || '';
  });
  window.addEventListener('resize', draw);

  // ------------------------------------------------------------------ keys, buttons
  document.addEventListener('keydown', (event) => {
    if (['INPUT', 'SELECT', 'TEXTAREA'].includes(document.activeElement.tagName)) return;
    const key = event.key.toLowerCase();
    if ((event.ctrlKey || event.metaKey) && key === 'z') {
      event.preventDefault();
      if (ui.view && ui.view.undo) change('POST', '/undo', { version: ui.view.version });
    } else if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    } else if (key === 'a' || key === 'enter') {
      event.preventDefault();
      accept();
    } else if (key === 'arrowright' || key === 'n') {
      step(1);
    } else if (key === 'arrowleft' || key === 'p') {
      step(-1);
    } else if (key === 'r') {
      if (ui.view) change('POST', '/reset', { version: ui.view.version });
    } else if (key === 'f') {
      fit();
    }
  });

  $('accept').addEventListener('click', accept);
  $('next').addEventListener('click', () => step(1));
  $('prev').addEventListener('click', () => step(-1));
  $('undo').addEventListener('click', () => ui.view && change('POST', '/undo', { version: ui.view.version }));
  $('reset').addEventListener('click', () => ui.view && change('POST', '/reset', { version: ui.view.version }));
  $('reopen').addEventListener('click', () => ui.view && change('POST', '/state', { state: 'unchecked', version: ui.view.version }));
  $('filter').addEventListener('input', renderList);
  $('state-filter').addEventListener('change', renderList);
  for (const th of document.querySelectorAll('#films th')) {
    th.addEventListener('click', () => {
      const key = th.dataset.sort;
      ui.sortDir = ui.sortKey === key ? -ui.sortDir : 1;
      ui.sortKey = key;
      renderList();
    });
  }
  $('export').addEventListener('click', async () => {
    $('export').disabled = true;
    try {
      const out = await api('POST', '/api/export', {});
      say(`Exported ${out.films} film${out.films === 1 ? '' : 's'} (${out.lines} reading${out.lines === 1 ? '' : 's'}) to ${out.dir}; next: ${out.convert}`, 'ok');
      $('export').dataset.done = String(out.films);
    } catch (err) {
      say(`export: ${err.message}`, 'error');
    } finally {
      $('export').disabled = false;
    }
  });

  // ------------------------------------------------------------------ start
  async function poll() {
    try {
      const before = ui.status ? ui.status.measured : -1;
      const status = await loadStatus();
      if (status.measured !== before) {
        await loadList();
        if (ui.name && ui.view && !ui.view.measured) openFilm(ui.name);
      }
      if (status.pending) setTimeout(poll, 1500);
    } catch (err) {
      say(err.message, 'error');
      setTimeout(poll, 5000);
    }
  }

  async function start() {
    try {
      await loadStatus();
      await loadList();
      if (ui.order.length) await openFilm(ui.order[0]);
      if (ui.status.pending) setTimeout(poll, 1500);
      document.body.dataset.ready = '1';
    } catch (err) {
      say(err.message, 'error');
    }
  }
  start();
})();
