/*
 * app.js - the web page of `field ui` (docs/UI.md). Plain JavaScript, no
 * framework, nothing from the network but this server. The form logic is
 * not here: every change is sent to POST /api/records/ID/evaluate and the
 * C engine answers what is relevant, calculated, offered and wrong. The
 * page keeps only what the person changed since the record was loaded
 * ("changes", keyed exactly as `field set` names answers) and the head it
 * started from ("base"), which a save names.
 */
'use strict';

(function () {
  var S = { csrf: null, lang: 'vi', session: null };
  var form = null; /* the record on screen: {id, state, changes, pending} */
  var evalTimer = null;
  var inFlight = 0; /* evaluate and save requests not yet answered */

  var TEXT = {
    records: ['Phiếu', 'Records'],
    new_record: ['Phiếu mới', 'New record'],
    loading: ['Đang tải…', 'Loading…'],
    status: ['Trạng thái', 'Status'],
    unit: ['Đơn vị', 'Unit'],
    template: ['Mẫu phiếu', 'Template'],
    any: ['(tất cả)', '(any)'],
    filter: ['Lọc', 'Filter'],
    none: ['Chưa có phiếu nào.', 'No records yet.'],
    returned_reason: ['Trả lại để sửa', 'Returned for correction'],
    search_unit: ['Tìm đơn vị (gõ một phần tên, không cần dấu)', 'Find the unit (type part of its name, accents optional)'],
    create: ['Tạo phiếu', 'Create'],
    choose_unit: ['Hãy chọn một đơn vị trong danh sách.', 'Choose a unit from the list.'],
    chosen: ['Đã chọn', 'Chosen'],
    save: ['Lưu', 'Save'],
    finalize: ['Hoàn tất', 'Finalize'],
    history: ['Lịch sử', 'History'],
    back: ['Quay lại phiếu', 'Back to the record'],
    saved: ['Đã lưu (một phiên bản có chữ ký).', 'Saved (one signed version).'],
    nothing: ['Không có gì thay đổi.', 'Nothing changed.'],
    finalized: ['Đã hoàn tất phiếu.', 'The record is final.'],
    missing: ['Còn thiếu hoặc sai:', 'Missing or wrong:'],
    add_item: ['Thêm mục', 'Add an item'],
    remove_item: ['Xoá mục này', 'Remove this item'],
    item: ['Mục', 'Item'],
    here: ['Lấy vị trí hiện tại', 'Use my position'],
    unsaved: ['Có thay đổi chưa lưu', 'Unsaved changes'],
    conflicts: ['Có xung đột cần giải quyết: chọn giá trị đúng ở phần Xung đột', 'Conflicts to resolve: choose the right values under Conflicts'],
    conflicts_title: ['Xung đột', 'Conflicts'],
    conflicts_hint: ['Hai người đã sửa cùng một câu khi không có mạng. Chọn giá trị đúng cho từng câu rồi bấm Giải quyết: một phiên bản có chữ ký sẽ được tạo.',
      'Two people changed the same answer offline. Choose the right value for each, then Resolve: one signed version is made.'],
    resolve: ['Giải quyết', 'Resolve'],
    resolved: ['Đã giải quyết xung đột (một phiên bản có chữ ký).', 'Conflicts resolved (one signed version).'],
    removed: ['(đã xoá)', '(removed)'],
    closed: ['Phiếu đã đóng; không sửa được.', 'The record is closed; it cannot be edited.'],
    pair_title: ['Ghép nối thiết bị', 'Pair this device'],
    pair_code: ['Mã ghép nối (8 chữ số, hiện trên máy chạy field ui)', 'Pairing code (8 digits, shown where field ui runs)'],
    pair: ['Ghép nối', 'Pair'],
    parameters: ['Tham số', 'Parameters'],
    by: ['bởi', 'by'],
    cleared: ['(đã xoá)', '(cleared)'],
    moved: ['Phiếu đã thay đổi ở nơi khác. Thay đổi của bạn vẫn còn trên trang: xem lại rồi Lưu.', 'The record changed elsewhere. Your changes are still on the page: check them, then Save.'],
    sync: ['Đồng bộ', 'Sync'],
    syncing: ['Đang đồng bộ…', 'Syncing…'],
    synced: ['Đồng bộ xong lúc', 'Synced at'],
    sync_failed: ['Đồng bộ không thành công', 'The sync failed'],
    to_send: ['chờ gửi', 'waiting to be sent'],
    sent: ['đã gửi', 'sent'],
    received: ['đã nhận', 'received'],
    review: ['Xét duyệt', 'Review'],
    inbox_none: ['Không có phiếu nào chờ xét duyệt.', 'Nothing waits for a decision.'],
    inbox_hint: ['Phiếu đã hoàn tất trong phạm vi của bạn, chờ lâu nhất ở trên. Mỗi quyết định là một phiên bản có chữ ký, gửi đi khi đồng bộ.',
      'Final records in your scope, the longest waiting first. Each decision is one signed version, sent at the next sync.'],
    note_or_reason: ['Ghi chú khi duyệt, hoặc lý do (bắt buộc khi trả lại hay từ chối)', 'Note for an approval, or the reason (required to return or reject)'],
    recognition: ['Quyết định công nhận (không bắt buộc)', 'Recognition decision (optional)'],
    decision_number: ['Số quyết định', 'Decision number'],
    decision_date: ['Ngày quyết định', 'Decision date'],
    approve: ['Duyệt', 'Approve'],
    return_: ['Trả lại để sửa', 'Return for correction'],
    reject: ['Từ chối', 'Reject'],
    decided: ['Đã ghi quyết định (một phiên bản có chữ ký):', 'Decision recorded (one signed version):'],
    met: ['đạt', 'met'], not_met: ['không đạt', 'not met'], unknown: ['chưa xác định', 'unknown'],
    tier: ['mức đạt chuẩn', 'tier'],
    outdated: ['Đã sửa sau lần xét trước', 'Changed since it was last reviewed'],
    moved_review: ['Phiếu vừa thay đổi ở nơi khác; danh sách đã được tải lại, hãy xem lại rồi quyết định.', 'The record changed elsewhere; the list is reloaded: check it again, then decide.'],
    report: ['Báo cáo', 'Report'],
    report_of: ['Báo cáo tiến độ', 'Progress report'],
    as_of: ['Số liệu tính đến ngày', 'Figures as of'],
    fetched: ['tải về lúc', 'fetched at'],
    no_report: ['Chưa có báo cáo nào trên máy này; cần kết nối máy chủ để tải.', 'No report on this device yet; it needs the server to fetch one.'],
    refresh: ['Tải lại từ máy chủ', 'Fetch again'],
    sort_by: ['Sắp xếp địa phương', 'Sort the localities'],
    sort_code: ['theo mã đơn vị', 'by unit code'],
    sort_name: ['theo tên', 'by name'],
    sort_progress: ['theo tiến độ (tỷ lệ đạt)', 'by progress (share met)'],
    sort_tier: ['theo mức đạt chuẩn cao nhất', 'by the highest tier met'],
    no_district: ['Chưa rõ huyện', 'District unknown'],
    report_fetching: ['Đang tải báo cáo từ máy chủ…', 'Fetching the report from the server…'],
    xlsx: ['Tải tệp Excel (XLSX)', 'Download the workbook (XLSX)'],
    print: ['In', 'Print'],
    tiers: ['Mức đạt chuẩn', 'Tiers'],
    tiers_by_locality: ['Đạt chuẩn theo địa phương', 'Tiers by locality'],
    criteria_chart: ['Tiêu chí: đạt / không đạt / chưa xác định', 'Criteria: met / not met / unknown'],
    targets: ['Tiến độ so với mục tiêu', 'Progress against targets'],
    locality: ['Địa phương', 'Locality'],
    total: ['Tổng', 'Total'],
    share: ['Tỷ lệ', 'Share'],
    target: ['Mục tiêu', 'Target'],
    remaining: ['Còn thiếu', 'Remaining'],
    records_n: ['Phiếu', 'Records'],
    approved_n: ['đã duyệt', 'approved'],
    photo_take: ['Chụp ảnh hoặc chọn ảnh có sẵn (JPEG)', 'Take a photo or choose one (JPEG)'],
    photo_replace: ['Chụp hoặc chọn ảnh khác để thay', 'Take or choose another photo to replace it'],
    photo_none: ['Chưa có ảnh.', 'No photo yet.'],
    photo_of: ['Ảnh:', 'Photo:'],
    photo_sending: ['Đang gửi ảnh…', 'Sending the photo…'],
    photo_saved: ['Đã lưu ảnh: một phiên bản có chữ ký.', 'Photo saved: one signed version.'],
    photo_same: ['Câu hỏi đã có đúng ảnh này; không có gì thay đổi.', 'The question has this very photo already; nothing changed.'],
    photo_jpeg: ['Chỉ nhận ảnh JPEG.', 'Only JPEG photos are taken.'],
    photo_elsewhere: ['Ảnh này chưa có trên máy (sẽ tải về khi đồng bộ).', 'This photo is not on this device yet (a sync fetches it).'],
    photo_failed: ['Không gửi được ảnh', 'The photo could not be sent']
  };
  var STATUS = {
    draft: ['nháp', 'draft'], final: ['hoàn tất', 'final'],
    returned: ['bị trả lại', 'returned'], approved: ['đã duyệt', 'approved'],
    rejected: ['bị từ chối', 'rejected']
  };

  function t(key) { var p = TEXT[key]; return p ? p[S.lang === 'en' ? 1 : 0] : key; }
  function tx(obj) { if (!obj) return ''; return (S.lang === 'en' && obj.en) ? obj.en : (obj.vi || obj.en || ''); }
  function st(s) { var p = STATUS[s]; return p ? p[S.lang === 'en' ? 1 : 0] : s; }
  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    var k;
    for (k in (attrs || {})) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'on') { Object.keys(attrs.on).forEach(function (ev) { e.addEventListener(ev, attrs.on[ev]); }); }
      else if (attrs[k] === true) e.setAttribute(k, '');
      else if (attrs[k] !== false && attrs[k] != null) e.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  function notice(msg, ok) {
    var n = $('notice');
    n.textContent = msg || '';
    n.hidden = !msg;
    n.className = ok ? 'ok' : '';
  }

  function errText(body) {
    if (!body || !body.error) return 'Error';
    return S.lang === 'en' ? (body.message_en || body.error) : (body.message_vi || body.error) +
      (body.message_en ? ' (' + body.message_en + ')' : '');
  }

  /* One API call: resolves to {status, body}; never throws on an HTTP error. */
  function api(method, path, body) {
    var opt = { method: method, credentials: 'same-origin', headers: {} };
    if (method === 'POST') {
      opt.headers['Content-Type'] = 'application/json';
      if (S.csrf) opt.headers['X-CSRF-Token'] = S.csrf;
      opt.body = JSON.stringify(body || {});
    }
    return fetch(path, opt).then(function (r) {
      return r.json().then(function (b) { return { status: r.status, body: b }; },
        function () { return { status: r.status, body: null }; });
    });
  }

  function applyLang() {
    document.documentElement.lang = S.lang;
    $('nav-review').hidden = !isSupervisor();
    $('nav-report').hidden = !isSupervisor();
    $('lang').textContent = S.lang === 'en' ? 'VI' : 'EN';
    $('lang').setAttribute('aria-label', S.lang === 'en' ? 'Tiếng Việt' : 'English');
    Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (e) {
      e.textContent = t(e.getAttribute('data-t'));
    });
  }

  function show(nodes) {
    var m = $('main');
    m.textContent = '';
    nodes.forEach(function (n) { if (n) m.appendChild(n); });
  }

  /* ---- the sync button: the sync runs in field ui, the page polls ---- */
  var syncWasRunning = false;

  function syncText(x) {
    var parts = [];
    if (x.running) {
      parts.push(t('syncing') + ' ' + t('sent') + ' ' + x.pushed + '/' + x.to_push +
        ', ' + t('received') + ' ' + x['new']);
    } else if (x.ok === true) {
      parts.push(t('synced') + ' ' + new Date(x.finished_ms).toLocaleTimeString() + ': ' +
        t('sent') + ' ' + x.pushed + ', ' + t('received') + ' ' + x['new']);
    } else if (x.ok === false) {
      parts.push(t('sync_failed') + ': ' + (x.message || ''));
    }
    if (x.pending != null && !x.running) parts.push(x.pending + ' ' + t('to_send'));
    return parts.join(' · ');
  }

  function showSync(x) {
    var line = $('sync-status');
    line.textContent = syncText(x);
    line.hidden = !line.textContent;
    line.className = x.ok === false ? 'meta err' : 'meta';
    $('sync').disabled = !!x.running;
  }

  function pollSync() {
    api('GET', '/api/sync').then(function (r) {
      if (r.status !== 200) return;
      showSync(r.body);
      if (r.body.running) {
        syncWasRunning = true;
        setTimeout(pollSync, 1000);
      } else if (syncWasRunning) {
        /* What arrived shows at once, unless a form is being edited. */
        syncWasRunning = false;
        if (!form || Object.keys(form.changes).length === 0) route();
      }
    });
  }

  function startSync() {
    api('POST', '/api/sync').then(function (r) {
      if (r.status === 202) { showSync(r.body); syncWasRunning = true; setTimeout(pollSync, 1000); }
      else notice(errText(r.body));
    });
  }

  /* ---- pairing ---- */
  function pairView() {
    var input = el('input', { id: 'pair-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '8' });
    var f = el('form', { on: { submit: function (ev) {
      ev.preventDefault();
      api('POST', '/api/pair', { code: input.value.trim() }).then(function (r) {
        if (r.status === 200) { S.csrf = r.body.csrf; S.session = r.body; applyLang(); notice(''); route(); pollSync(); }
        else notice(errText(r.body));
      });
    } } }, [
      el('h2', { text: t('pair_title') }),
      el('label', { for: 'pair-code', text: t('pair_code') }), input,
      el('div', { class: 'row' }, [el('button', { type: 'submit', class: 'primary', text: t('pair') })])
    ]);
    show([f]);
    input.focus();
  }

  /* ---- the list ---- */
  function listView() {
    var params = new URLSearchParams(location.hash.split('?')[1] || '');
    var status = el('select', { id: 'f-status' }, [''].concat(Object.keys(STATUS)).map(function (s) {
      return el('option', { value: s, text: s ? st(s) : t('any') });
    }));
    var unit = el('input', { id: 'f-unit', value: params.get('unit') || '' });
    var tmpl = el('select', { id: 'f-template' }, [el('option', { value: '', text: t('any') })]);
    status.value = params.get('status') || '';
    var filters = el('form', { class: 'filters', on: { submit: function (ev) {
      ev.preventDefault();
      location.hash = '#/?' + new URLSearchParams({ status: status.value, unit: unit.value.trim(), template: tmpl.value }).toString();
    } } }, [
      el('div', {}, [el('label', { for: 'f-status', text: t('status') }), status]),
      el('div', {}, [el('label', { for: 'f-unit', text: t('unit') }), unit]),
      el('div', {}, [el('label', { for: 'f-template', text: t('template') }), tmpl]),
      el('div', { class: 'row' }, [el('button', { type: 'submit', text: t('filter') })])
    ]);
    var list = el('ul', { class: 'list', id: 'records' });
    show([el('h2', { text: t('records') }), filters, list]);
    api('GET', '/api/templates').then(function (r) {
      (r.body || []).forEach(function (x) { tmpl.appendChild(el('option', { value: x.id, text: tx(x.title) + ' (' + x.id + ')' })); });
      tmpl.value = params.get('template') || '';
    });
    var q = new URLSearchParams({ status: params.get('status') || '', unit: params.get('unit') || '', template: params.get('template') || '' });
    api('GET', '/api/records?' + q.toString()).then(function (r) {
      if (r.status !== 200) { notice(errText(r.body)); return; }
      if (r.body.length === 0) list.appendChild(el('li', { text: t('none') }));
      r.body.forEach(function (x) {
        var li = el('li', { class: x.status === 'returned' ? 'returned' : '' }, [
          el('a', { href: '#/r/' + x.id, text: (x.unit_name || x.unit) + ' — ' + x.template }),
          ' ', el('span', { class: 'status', text: st(x.status) }),
          el('p', { class: 'meta', text: new Date(x.updated_ms).toLocaleString() + ' · ' + x.id.slice(0, 12) })
        ]);
        if (x.review && x.review.reason) li.appendChild(el('p', { class: 'err', text: t('returned_reason') + ': ' + x.review.reason }));
        list.appendChild(li);
      });
    });
  }

  /* ---- a new record ---- */
  function newView() {
    var chosen = null;
    var tmpl = el('select', { id: 'n-template' });
    var search = el('input', { id: 'n-unit', autocomplete: 'off', 'aria-controls': 'n-results' });
    var results = el('ul', { class: 'list', id: 'n-results', 'aria-live': 'polite' });
    var pick = el('p', { class: 'meta', id: 'n-chosen' });
    var timer = null;
    search.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        api('GET', '/api/units?q=' + encodeURIComponent(search.value.trim())).then(function (r) {
          results.textContent = '';
          (r.body || []).forEach(function (u) {
            results.appendChild(el('li', {}, [el('button', { type: 'button', text: u.name + ' (' + u.code + ')', on: { click: function () {
              chosen = u.code; pick.textContent = t('chosen') + ': ' + u.name + ' (' + u.code + ')'; results.textContent = '';
            } } })]));
          });
        });
      }, 200);
    });
    var f = el('form', { on: { submit: function (ev) {
      ev.preventDefault();
      var unit = chosen || search.value.trim();
      if (!unit) { notice(t('choose_unit')); return; }
      api('POST', '/api/records', { template: tmpl.value, unit: unit }).then(function (r) {
        if (r.status === 201) { notice(''); location.hash = '#/r/' + r.body.id; }
        else notice(errText(r.body));
      });
    } } }, [
      el('h2', { text: t('new_record') }),
      el('div', { class: 'q' }, [el('label', { for: 'n-template', text: t('template') }), tmpl]),
      el('div', { class: 'q' }, [el('label', { for: 'n-unit', text: t('search_unit') }), search, pick, results]),
      el('div', { class: 'row' }, [el('button', { type: 'submit', class: 'primary', text: t('create') })])
    ]);
    show([f]);
    api('GET', '/api/templates').then(function (r) {
      (r.body || []).forEach(function (x) { tmpl.appendChild(el('option', { value: x.id, text: tx(x.title) + ' (' + x.id + ')' })); });
    });
  }

  /* ---- the form ---- */
  function newItemId() {
    var b = new Uint8Array(8);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }

  function idOf(key) { return 'q-' + key.replace(/[^A-Za-z0-9_-]/g, '_'); }

  /* The text an input shows for a value from the engine. */
  function valueText(q) {
    if (Object.prototype.hasOwnProperty.call(form.changes, q.key)) return form.changes[q.key] == null ? '' : form.changes[q.key];
    if (q.value == null) return '';
    if (Array.isArray(q.value)) return q.value.join(' ');
    return String(q.value);
  }

  /* aria-busy on the form while the engine's answer to a change is
   * awaited: assistive technology (and the browser tests) know when what
   * is shown is current. */
  function busy() {
    $('main').setAttribute('aria-busy', evalTimer !== null || inFlight > 0 ? 'true' : 'false');
  }

  function change(key, value) {
    form.changes[key] = value === '' ? null : value;
    $('unsaved').hidden = false;
    clearTimeout(evalTimer);
    evalTimer = setTimeout(evaluate, 250);
    busy();
  }

  function inputFor(q, disabled) {
    var id = idOf(q.key);
    var described = id + '-err';
    var v = valueText(q);
    var input;
    if (q.calculated) return el('output', { id: id, class: 'calc', for: '' , text: q.value == null ? '—' : String(q.value) });
    if (q.type === 'note') return null;
    if (q.type === 'select_one') {
      input = el('select', { id: id, disabled: disabled, 'aria-describedby': described }, [el('option', { value: '', text: '—' })].concat(
        (q.choices || []).map(function (c) { return el('option', { value: c.name, text: tx(c.label) }); })));
      input.value = v;
      input.addEventListener('change', function () { change(q.key, input.value); });
      return input;
    }
    if (q.type === 'select_multiple') {
      var set = v ? v.split(' ') : [];
      var box = el('div', { id: id, role: 'group', 'aria-describedby': described });
      (q.choices || []).forEach(function (c) {
        var cid = id + '--' + c.name;
        var cb = el('input', { type: 'checkbox', id: cid, value: c.name, disabled: disabled });
        cb.checked = set.indexOf(c.name) >= 0;
        cb.addEventListener('change', function () {
          var all = Array.prototype.filter.call(box.querySelectorAll('input'), function (x) { return x.checked; })
            .map(function (x) { return x.value; });
          change(q.key, all.join(' '));
        });
        box.appendChild(el('div', { class: 'check' }, [cb, el('label', { for: cid, text: tx(c.label) })]));
      });
      return box;
    }
    if (q.type === 'photo') return photoInput(q, id, v, disabled, described);
    var attrs = { id: id, value: v, disabled: disabled, 'aria-describedby': described };
    if (q.type === 'integer') { attrs.inputmode = 'numeric'; attrs.type = 'text'; }
    else if (q.type === 'decimal') { attrs.inputmode = 'decimal'; attrs.type = 'text'; }
    else if (q.type === 'date') attrs.type = 'date';
    else attrs.type = 'text';
    input = el('input', attrs);
    input.addEventListener('change', function () { change(q.key, input.value); });
    if (q.type === 'geopoint' && navigator.geolocation && !disabled) {
      return el('div', {}, [input, el('button', { type: 'button', text: t('here'), on: { click: function () {
        navigator.geolocation.getCurrentPosition(function (p) {
          input.value = p.coords.latitude.toFixed(6) + ' ' + p.coords.longitude.toFixed(6);
          change(q.key, input.value);
        }, function (e) { notice(e.message); });
      } } })]);
    }
    return input;
  }

  /* A photo question: the photo's thumbnail when it has one, and a file
   * input that opens the camera on a phone (capture) and the file chooser
   * elsewhere; the photo is sent as it is, and field ui attaches it as
   * `field attach` would: one signed version. */
  function photoInput(q, id, v, disabled, described) {
    var hash = /^[0-9a-f]{64}$/.test(v) ? v : null;
    var box = el('div', { class: 'photo' });
    var line = el('p', { class: 'meta', id: id + '-status', role: 'status', text: hash ? hash.slice(0, 12) : t('photo_none') });
    if (hash) {
      var img = el('img', { class: 'thumb', id: id + '-img', src: '/api/photos/' + hash, alt: t('photo_of') + ' ' + tx(q.label) });
      img.addEventListener('error', function () { img.hidden = true; line.textContent = hash.slice(0, 12) + ' · ' + t('photo_elsewhere'); });
      box.appendChild(img);
    }
    box.appendChild(line);
    if (disabled) return box;
    var input = el('input', { type: 'file', id: id, accept: 'image/jpeg', capture: 'environment', 'aria-describedby': described + ' ' + id + '-status' });
    input.addEventListener('change', function () { if (input.files && input.files[0]) upload(q, input, line); });
    box.appendChild(el('p', { class: 'hint', text: hash ? t('photo_replace') : t('photo_take') }));
    box.appendChild(input);
    return box;
  }

  function upload(q, input, line) {
    var file = input.files[0];
    var id = form.id;
    if (file.type && file.type !== 'image/jpeg') { notice(t('photo_jpeg')); input.value = ''; return; }
    line.textContent = t('photo_sending') + ' (' + num(Math.ceil(file.size / 1024)) + ' KB)';
    input.disabled = true;
    inFlight++;
    busy();
    fetch('/api/records/' + id + '/photos?question=' + encodeURIComponent(q.key), {
      method: 'POST', credentials: 'same-origin', body: file,
      headers: { 'Content-Type': 'image/jpeg', 'X-CSRF-Token': S.csrf }
    }).then(function (r) {
      return r.json().then(function (b) { return { status: r.status, body: b }; },
        function () { return { status: r.status, body: null }; });
    }, function () { return { status: 0, body: null }; }).then(function (r) {
      inFlight--;
      busy();
      if (!form || form.id !== id) return;
      if (r.status === 201) {
        form.state = r.body.state;
        notice(r.body.saved ? t('photo_saved') : t('photo_same'), true);
        render();
        if (Object.keys(form.changes).length) evaluate();
        pollSync();
        return;
      }
      input.disabled = false;
      input.value = '';
      line.textContent = '';
      notice(r.body ? errText(r.body) : t('photo_failed'));
    });
  }

  function questionNode(q, disabled) {
    var id = idOf(q.key);
    var box = el('div', { class: 'q', id: id + '-box', hidden: !q.relevant });
    var input = inputFor(q, disabled);
    var label = q.type === 'select_multiple' || q.type === 'note'
      ? el('p', { class: 'qlabel', id: id + '-label' }, [el('strong', { text: tx(q.label) })])
      : el('label', { for: id, text: tx(q.label) });
    if (q.required && !q.calculated) label.appendChild(el('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }));
    if (q.unit) label.appendChild(document.createTextNode(' (' + q.unit + ')'));
    box.appendChild(label);
    if (q.hint) box.appendChild(el('p', { class: 'hint', text: tx(q.hint) }));
    if (input) box.appendChild(input);
    var err = el('p', { class: 'err', id: id + '-err' });
    var typed = form.state.errors && form.state.errors[q.key];
    if (typed) err.textContent = typed.indexOf(q.name + ': ') === 0 ? typed.slice(q.name.length + 2) : typed;
    else if (q.error) err.textContent = tx(q.error);
    err.hidden = !err.textContent;
    box.appendChild(err);
    return box;
  }

  function sectionNodes(state, disabled) {
    var out = [];
    if (state.parameters.length) {
      out.push(el('fieldset', {}, [el('legend', { text: t('parameters') })].concat(
        state.parameters.map(function (q) { return questionNode(q, disabled); }))));
    }
    state.sections.forEach(function (s) {
      var fs = el('fieldset', { id: 'sec-' + s.name, hidden: !s.relevant }, [el('legend', { text: tx(s.label) })]);
      if (!s.repeat) {
        s.questions.forEach(function (q) { fs.appendChild(questionNode(q, disabled)); });
      } else {
        var ids = s.items.map(function (it) { return it.id; });
        var items = s.items.slice();
        (form.pending[s.name] || []).forEach(function (pid) {
          if (ids.indexOf(pid) < 0) {
            items.push({ id: pid, questions: s.fields.map(function (f) {
              return { key: s.name + '[' + pid + '].' + f.name, name: f.name, type: f.type, label: f.label, relevant: true, value: null,
                calculated: f.calculated, choices: f.choices };
            }) });
          }
        });
        items.forEach(function (it, i) {
          var ifs = el('fieldset', { class: 'item' }, [el('legend', { text: t('item') + ' ' + (i + 1) })]);
          it.questions.forEach(function (q) { ifs.appendChild(questionNode(q, disabled)); });
          if (!disabled) {
            ifs.appendChild(el('button', { type: 'button', text: t('remove_item'), on: { click: function () {
              Object.keys(form.changes).forEach(function (k) { if (k.indexOf(s.name + '[' + it.id + ']') === 0) delete form.changes[k]; });
              form.pending[s.name] = (form.pending[s.name] || []).filter(function (x) { return x !== it.id; });
              if (ids.indexOf(it.id) >= 0) change(s.name + '[' + it.id + ']', null); else render();
            } } }));
          }
          fs.appendChild(ifs);
        });
        if (!disabled) {
          fs.appendChild(el('button', { type: 'button', text: t('add_item'), on: { click: function () {
            (form.pending[s.name] = form.pending[s.name] || []).push(newItemId());
            render();
          } } }));
        }
      }
      out.push(fs);
    });
    return out;
  }

  function missingNode(missing) {
    if (!missing || !missing.length) return null;
    return el('div', { id: 'missing' }, [el('p', { class: 'err', text: t('missing') }),
      el('ul', { class: 'missing' }, missing.map(function (m) {
        return el('li', {}, [el('a', { href: '#' + location.hash.slice(1), text: tx(m.label) + ': ' + tx(m.message), on: { click: function (ev) {
          ev.preventDefault();
          var box = $(idOf(m.key) + '-box');
          var target = $(idOf(m.key)) || box;
          if (box) box.scrollIntoView();
          if (target && target.focus) target.focus();
        } } })]);
      }))]);
  }

  /* Each conflict's candidates as radio buttons, the merge's choice
   * checked; Resolve sends the chosen candidates' assignments in one
   * signed resolution (POST /api/records/ID/resolve). */
  function conflictsNode(s) {
    if (!s.conflict_list || !s.conflict_list.length) return null;
    var fs = el('fieldset', { id: 'conflicts' }, [el('legend', { text: t('conflicts_title') }),
      el('p', { class: 'hint', text: t('conflicts_hint') })]);
    s.conflict_list.forEach(function (c, ci) {
      var g = el('fieldset', { class: 'item', id: 'c-' + ci }, [el('legend', { text: (tx(c.label) || c.path) + ' (' + c.path + ')' })]);
      c.candidates.forEach(function (k, ki) {
        var rid = 'c-' + ci + '-' + ki;
        var r = el('input', { type: 'radio', name: 'c-' + ci, id: rid, value: String(ki) });
        r.checked = k.shown;
        g.appendChild(el('div', { class: 'check' }, [r, el('label', { for: rid,
          text: (k.present ? k.text : t('removed')) + ' — ' + (k.inspector || k.author.slice(0, 8)) + ', ' +
            new Date(k.time_ms).toLocaleString() })]));
      });
      fs.appendChild(g);
    });
    fs.appendChild(el('div', { class: 'row' }, [el('button', { type: 'button', id: 'resolve', class: 'primary', text: t('resolve'),
      on: { click: function () { resolveConflicts(s, fs); } } })]));
    return fs;
  }

  function resolveConflicts(s, fs) {
    var answers = {};
    s.conflict_list.forEach(function (c, ci) {
      var sel = fs.querySelector('input[name="c-' + ci + '"]:checked');
      var k = c.candidates[sel ? +sel.value : 0];
      Object.keys(k.assign).forEach(function (key) { answers[key] = k.assign[key]; });
    });
    api('POST', '/api/records/' + form.id + '/resolve', { answers: answers, base: s.base }).then(function (r) {
      if (r.status === 200) { form.state = r.body.state; form.changes = {}; notice(t('resolved'), true); render(); pollSync(); }
      else if (r.status === 409 && r.body.state) { form.state = r.body.state; notice(t('moved')); render(); }
      else notice(errText(r.body));
    });
  }

  function render(missing) {
    var s = form.state;
    var active = document.activeElement;
    var focused = active && active.id;
    /* What is being typed in the focused field is not a change yet (that
     * comes when it loses focus): drawing the form again keeps it. */
    var typing = active && (active.tagName === 'INPUT' || active.tagName === 'TEXTAREA') &&
      active.type !== 'checkbox' && active.type !== 'radio' ? active.value : null;
    var disabled = !s.editable;
    var head = [el('h2', { text: (s.unit_name ? s.unit_name + ' (' + s.unit + ')' : s.unit) + ' — ' + tx(s.template.title) }),
      el('p', { class: 'meta' }, [el('span', { class: 'status', text: st(s.status) }), ' ' + s.id.slice(0, 12) + ' · ',
        el('a', { href: '#/r/' + s.id + '/history', text: t('history') })])];
    if (s.review && s.review.reason) head.push(el('p', { class: 'err', text: t('returned_reason') + ': ' + s.review.reason }));
    if (s.conflicts > 0) head.push(el('p', { class: 'err', text: t('conflicts') }));
    else if (disabled) head.push(el('p', { class: 'err', text: t('closed') }));
    var actions = el('div', { class: 'actions row' }, [
      el('button', { type: 'button', id: 'save', class: 'primary', disabled: disabled, text: t('save'), on: { click: save } }),
      el('button', { type: 'button', id: 'finalize', disabled: disabled || s.status === 'final', text: t('finalize'), on: { click: finalize } }),
      el('span', { id: 'unsaved', class: 'meta', hidden: Object.keys(form.changes).length === 0, text: t('unsaved') })
    ]);
    show(head.concat([missingNode(missing), conflictsNode(s)], sectionNodes(s, disabled), [actions]));
    if (focused && $(focused)) {
      $(focused).focus();
      if (typing !== null && $(focused).value !== typing) $(focused).value = typing;
    }
  }

  function evaluate() {
    var id = form.id;
    evalTimer = null;
    inFlight++;
    busy();
    api('POST', '/api/records/' + id + '/evaluate', { answers: form.changes }).then(function (r) {
      inFlight--;
      busy();
      if (!form || form.id !== id) return;
      if (r.status !== 200) { notice(errText(r.body)); return; }
      form.state = r.body;
      render();
    });
  }

  function save() {
    clearTimeout(evalTimer);
    evalTimer = null;
    inFlight++;
    busy();
    api('POST', '/api/records/' + form.id + '/save', { answers: form.changes, base: form.state.base }).then(function (r) {
      inFlight--;
      busy();
      if (r.status === 200) {
        form.state = r.body.state; form.changes = {}; form.pending = {};
        notice(r.body.saved ? t('saved') : t('nothing'), true);
        render();
        pollSync();
      } else if (r.status === 409 && r.body.state) {
        form.state = r.body.state;
        notice(t('moved'));
        render();
        evaluate();
      } else notice(errText(r.body));
    });
  }

  function finalize() {
    if (Object.keys(form.changes).length) { save(); return; }
    api('POST', '/api/records/' + form.id + '/finalize', { base: form.state.base }).then(function (r) {
      if (r.status === 200) { form.state = r.body.state; notice(t('finalized'), true); render(); pollSync(); }
      else if (r.status === 422 && r.body.missing) { notice(errText(r.body)); render(r.body.missing); $('missing').querySelector('a').focus(); }
      else if (r.status === 409 && r.body.state) { form.state = r.body.state; notice(t('moved')); render(); }
      else notice(errText(r.body));
    });
  }

  function recordView(id) {
    api('GET', '/api/records/' + id).then(function (r) {
      if (r.status !== 200) { notice(errText(r.body)); show([]); return; }
      form = { id: r.body.id, state: r.body, changes: {}, pending: {} };
      render();
    });
  }

  function fmt(v) { return v == null ? t('cleared') : (typeof v === 'object' ? JSON.stringify(v) : String(v)); }

  function historyView(id) {
    api('GET', '/api/records/' + id + '/history').then(function (r) {
      if (r.status !== 200) { notice(errText(r.body)); return; }
      var list = el('ol', { class: 'list' }, r.body.map(function (v) {
        return el('li', {}, [
          el('p', {}, [el('strong', { text: new Date(v.time_ms).toLocaleString() }), ' ',
            el('span', { class: 'status', text: st(v.status) }), ' ' + t('by') + ' ' + (v.inspector || v.author.slice(0, 8))]),
          el('ul', {}, v.changes.map(function (c) {
            return el('li', { text: c.name + ': ' + (c.before !== undefined ? fmt(c.before) + ' → ' : '') + fmt(c.after) });
          })),
          v.review && v.review.note ? el('p', { class: 'err', text: v.review.note }) : null
        ]);
      }));
      show([el('h2', { text: t('history') }), el('p', {}, [el('a', { href: '#/r/' + id, text: t('back') })]), list]);
    });
  }

  /* ---- the review inbox (a supervisor's or an admin's device) ---- */
  function isSupervisor() {
    return !!(S.session && (S.session.role === 'supervisor' || S.session.role === 'admin'));
  }

  function reviewItem(x, i) {
    var note = el('textarea', { id: 'rv-note-' + i, rows: '2' });
    var number = el('input', { id: 'rv-number-' + i, type: 'text' });
    var date = el('input', { id: 'rv-date-' + i, type: 'date' });
    var c = x.criteria;
    var summary = t('met') + ' ' + c.met + ', ' + t('not_met') + ' ' + c.not_met + ', ' + t('unknown') + ' ' + c.unknown +
      (x.tier ? '; ' + t('tier') + ': ' + st(x.tier) : '');
    function send(action) {
      var body = { base: x.base };
      if (action === 'approve') {
        if (note.value.trim()) body.note = note.value;
        if (number.value.trim()) body.decision_number = number.value;
        if (date.value) body.decision_date = date.value;
      } else {
        body.reason = note.value;
      }
      api('POST', '/api/records/' + x.record + '/' + action, body).then(function (r) {
        if (r.status === 200) {
          reviewView();
          notice(t('decided') + ' ' + (x.unit_name || x.subject) + ' — ' + st(r.body.status), true);
          pollSync();
        } else if (r.status === 409) {
          reviewView();
          notice(t('moved_review'));
        } else {
          notice(errText(r.body));
          if (r.body && r.body.field === 'reason') note.focus();
        }
      });
    }
    return el('li', { id: 'rv-' + x.record }, [
      el('a', { href: '#/r/' + x.record, text: (x.unit_name ? x.unit_name + ' (' + x.subject + ')' : x.subject) + ' — ' + x.template }),
      el('p', { class: 'meta', text: new Date(x.since_ms).toLocaleString() + ' · ' + x.inspector + ' · ' + x.record.slice(0, 12) }),
      el('p', { class: 'meta', text: summary }),
      x.review_outdated ? el('p', { class: 'err', text: t('outdated') }) : null,
      el('div', { class: 'q' }, [el('label', { for: note.id, text: t('note_or_reason') }), note]),
      el('p', { class: 'hint', text: t('recognition') }),
      el('div', { class: 'filters' }, [
        el('div', {}, [el('label', { for: number.id, text: t('decision_number') }), number]),
        el('div', {}, [el('label', { for: date.id, text: t('decision_date') }), date])]),
      el('div', { class: 'row' }, [
        el('button', { type: 'button', class: 'primary', id: 'rv-approve-' + i, text: t('approve'), on: { click: function () { send('approve'); } } }),
        el('button', { type: 'button', id: 'rv-return-' + i, text: t('return_'), on: { click: function () { send('return'); } } }),
        el('button', { type: 'button', id: 'rv-reject-' + i, text: t('reject'), on: { click: function () { send('reject'); } } })])
    ]);
  }

  function reviewView() {
    var list = el('ul', { class: 'list', id: 'inbox' });
    show([el('h2', { text: t('review') }), el('p', { class: 'hint', text: t('inbox_hint') }), list]);
    api('GET', '/api/review').then(function (r) {
      if (r.status !== 200) { notice(errText(r.body)); return; }
      if (r.body.length === 0) list.appendChild(el('li', { text: t('inbox_none') }));
      r.body.forEach(function (x, i) { list.appendChild(reviewItem(x, i)); });
      list.setAttribute('data-loaded', 'true');
    });
  }

  /* ---- the province report: tables and charts drawn here as SVG ---- */
  var SVG = 'http://www.w3.org/2000/svg';

  /* Numbers as people write them: 1.205 and 40,6% in Vietnamese. */
  function num(n) {
    var s = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, S.lang === 'en' ? ',' : '.');
    return (n < 0 ? '-' : '') + s;
  }
  function pct(tenths) {
    return num(Math.floor(tenths / 10)) + (S.lang === 'en' ? '.' : ',') + (tenths % 10) + '%';
  }

  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }

  /* Horizontal bars, one row per item: parts [{n, cls}] stacked along a
   * scale of max; the label on the left, the figure on the right. */
  function barChart(id, title, rows, max, marks) {
    var rowH = 22, labelW = 170, barW = 300, figW = 110;
    var svg = svgEl('svg', { id: id, class: 'chart', role: 'img', 'aria-label': title,
      viewBox: '0 0 ' + (labelW + barW + figW) + ' ' + (rows.length * rowH + 4), preserveAspectRatio: 'xMinYMin meet' });
    if (rows.length > GROUP_MIN) svg.setAttribute('class', 'chart long');
    svg.appendChild(svgEl('title', {}, title));
    rows.forEach(function (r, i) {
      var y = i * rowH + 2, x = labelW;
      var g = svgEl('g', { class: r.cls || 'row', 'data-code': r.code || '' });
      g.appendChild(svgEl('text', { x: labelW - 6, y: y + 15, 'text-anchor': 'end', class: 'label' },
        r.label.length > 26 ? r.label.slice(0, 25) + '…' : r.label));
      g.appendChild(svgEl('rect', { x: labelW, y: y + 3, width: barW, height: rowH - 6, class: 'bar-bg' }));
      var scale = r.max || max; /* a district's row: its own total */
      r.parts.forEach(function (p) {
        var w = scale > 0 ? barW * p.n / scale : 0;
        if (w > 0) g.appendChild(svgEl('rect', { x: x, y: y + 3, width: w, height: rowH - 6, class: 'seg ' + p.cls }));
        x += w;
      });
      if (marks && r.mark != null && max > 0) {
        var mx = labelW + barW * Math.min(r.mark, max) / max;
        g.appendChild(svgEl('line', { x1: mx, x2: mx, y1: y + 1, y2: y + rowH - 1, class: 'mark' }));
      }
      g.appendChild(svgEl('text', { x: labelW + barW + 6, y: y + 15, class: 'fig' }, r.fig));
      svg.appendChild(g);
    });
    /* at 360 px the chart keeps a readable width and scrolls in its box */
    return el('div', { class: 'scroll chart-box' }, [svg]);
  }

  function legend(items) {
    return el('p', { class: 'legend' }, items.map(function (it) {
      return el('span', {}, [el('span', { class: 'key ' + it[0], 'aria-hidden': 'true' }), ' ' + it[1] + ' ']);
    }));
  }

  function tierLabel(tr) { return tx(tr.label) || tr.code; }

  /* A report longer than this is grouped by district (where known). */
  var GROUP_MIN = 15;

  /* How far a locality is in tier tr: met / total (0 when none counts). */
  function progressOf(c) { return c && c.total ? c.met / c.total : 0; }

  /* The highest tier (by the report's order) a locality has any unit
   * meeting: what "by tier" sorts on. */
  function topTier(r, l) {
    var top = -1;
    r.tiers.forEach(function (tr, i) { if (l.tiers[tr.code] && l.tiers[tr.code].met > 0) top = i; });
    return top;
  }

  /* Compare two rows under the chosen order; the report's (code) order
   * breaks ties. */
  function compareBy(how, a, b) {
    var d = 0;
    if (how === 'name') d = a.name.localeCompare(b.name, S.lang === 'en' ? 'en' : 'vi');
    else if (how === 'progress') d = b.progress - a.progress;
    else if (how === 'tier') d = (b.top - a.top) || (b.progress - a.progress);
    return d || (a.order - b.order);
  }

  function barRow(code, label, c, cls) {
    return { code: code, label: label, cls: cls, parts: [{ n: c.met, cls: 'met' }, { n: c.total - c.met, cls: 'rest' }],
      fig: num(c.met) + '/' + num(c.total) };
  }

  /* The bars of tier tr, one per locality, in the chosen order; grouped:
   * each district's row (its communes' totals) before its communes, the
   * districts in the same order, communes of no known district last. */
  function localityRows(r, tr, locs, grouped) {
    var how = S.reportSort || 'code';
    var items = locs.map(function (l, i) {
      var c = l.tiers[tr.code];
      return { l: l, name: l.name, order: i, progress: progressOf(c), top: topTier(r, l) };
    });
    items.sort(function (a, b) { return compareBy(how, a, b); });
    if (!grouped) return items.map(function (it) { return barRow(it.l.code, it.l.name, it.l.tiers[tr.code], 'row'); });
    var groups = {}, list = [];
    items.forEach(function (it) {
      var d = it.l.district || { code: '', name: t('no_district') };
      if (!groups[d.code]) {
        groups[d.code] = { code: d.code, name: d.name, order: d.code === '' ? 1e9 : list.length, items: [], met: 0, total: 0, top: -1 };
        list.push(groups[d.code]);
      }
      var g = groups[d.code], c = it.l.tiers[tr.code];
      g.items.push(it); g.met += c.met; g.total += c.total; g.top = Math.max(g.top, it.top);
    });
    list.forEach(function (g) { g.progress = g.total ? g.met / g.total : 0; if (g.code === '') g.order = 1e9; });
    list.sort(function (a, b) { return (a.code === '') - (b.code === '') || compareBy(how, a, b); });
    var rows = [];
    list.forEach(function (g) {
      var head = barRow(g.code, g.name, { met: g.met, total: g.total }, 'group');
      head.max = g.total; /* as a share: its sum would dwarf its communes */
      rows.push(head);
      g.items.forEach(function (it) { rows.push(barRow(it.l.code, '\u2003' + it.l.name, it.l.tiers[tr.code], 'row')); });
    });
    return rows;
  }

  function reportNodes(x, redraw) {
    var r = x.report;
    var out = [
      el('p', { class: 'meta', id: 'report-date', text: t('as_of') + ' ' + r.as_of.split('-').reverse().join('/') +
        ' · ' + t('fetched') + ' ' + new Date(x.fetched_ms).toLocaleString(S.lang === 'en' ? 'en-GB' : 'vi-VN') }),
      el('p', { text: t('records_n') + ': ' + num(r.records) + ', ' + t('approved_n') + ' ' + num(r.approved) })
    ];
    /* the tiers: a table, and progress against the targets */
    var head = el('tr', {}, [t('tiers'), 'Đạt', t('total'), t('share'), t('target'), t('remaining')].map(function (h, i) {
      return el('th', { scope: 'col', text: i === 1 ? (S.lang === 'en' ? 'Met' : 'Đạt') : h });
    }));
    out.push(el('h3', { text: t('tiers') }));
    out.push(el('div', { class: 'scroll' }, [el('table', { id: 'tiers' }, [el('thead', {}, [head]), el('tbody', {}, r.tiers.map(function (tr) {
      return el('tr', {}, [el('th', { scope: 'row', text: tierLabel(tr) }), el('td', { text: num(tr.met) }), el('td', { text: num(tr.total) }),
        el('td', { text: pct(tr.share_tenths) }), el('td', { text: tr.target ? num(tr.target.count) : '—' }),
        el('td', { text: tr.target ? num(tr.target.remaining) : '—' })]);
    }))])]));
    var withTarget = r.tiers.filter(function (tr) { return tr.target; });
    if (withTarget.length) {
      var tmax = Math.max.apply(null, withTarget.map(function (tr) { return Math.max(tr.target.count, tr.met); }));
      out.push(el('h3', { text: t('targets') }));
      out.push(barChart('chart-targets', t('targets'), withTarget.map(function (tr) {
        return { code: tr.code, label: tierLabel(tr), parts: [{ n: tr.met, cls: 'met' }], mark: tr.target.count,
          fig: num(tr.met) + '/' + num(tr.target.count) };
      }), tmax, true));
      out.push(legend([['met', S.lang === 'en' ? 'met' : 'đạt'], ['mark', t('target')]]));
    }
    /* tiers by locality: one chart per tier, sorted as chosen, and
     * grouped by district when the list is long and the device's units
     * say which district each commune was in */
    if (r.localities.length) {
      out.push(el('h3', { text: t('tiers_by_locality') }));
      var sorter = el('select', { id: 'report-sort', on: { change: function () { S.reportSort = sorter.value; redraw(); $('report-sort').focus(); } } },
        ['code', 'name', 'progress', 'tier'].map(function (k) { return el('option', { value: k, text: t('sort_' + k) }); }));
      sorter.value = S.reportSort || 'code';
      out.push(el('div', { class: 'row noprint' }, [el('label', { for: 'report-sort', text: t('sort_by') }), sorter]));
      var grouped = r.localities.length > GROUP_MIN && r.localities.some(function (l) { return l.district; });
      r.tiers.forEach(function (tr, ti) {
        var locs = r.localities.filter(function (l) { return l.tiers[tr.code] && l.tiers[tr.code].total > 0; });
        if (!locs.length) return;
        var rows = localityRows(r, tr, locs, grouped);
        var max = Math.max.apply(null, rows.filter(function (x2) { return x2.cls === 'row'; })
          .map(function (x2) { return x2.parts[0].n + x2.parts[1].n; }));
        out.push(el('h4', { text: tierLabel(tr) }));
        out.push(barChart('chart-loc-' + ti, t('tiers_by_locality') + ': ' + tierLabel(tr), rows, max));
      });
      out.push(legend([['met', S.lang === 'en' ? 'met' : 'đạt'], ['rest', S.lang === 'en' ? 'not (yet)' : 'chưa đạt']]));
    }
    /* criteria: met / not met / unknown, stacked */
    if (r.criteria.length) {
      out.push(el('h3', { text: t('criteria_chart') }));
      r.criteria.forEach(function (g, gi) {
        var tierOf = r.tiers.filter(function (tr) { return tr.code === g.tier; })[0];
        var rows = g.criteria.map(function (c) {
          return { code: c.code, label: c.code + ' ' + tx(c.name), parts: [{ n: c.met, cls: 'met' }, { n: c.not_met, cls: 'notmet' }, { n: c.unknown, cls: 'unknown' }],
            fig: num(c.met) + ' / ' + num(c.not_met) + ' / ' + num(c.unknown) };
        });
        if (!rows.length) return;
        out.push(el('h4', { text: (tierOf ? tierLabel(tierOf) : g.tier) + ' (' + num(g.units) + ')' }));
        out.push(barChart('chart-crit-' + gi, t('criteria_chart') + ': ' + g.tier, rows, g.units || 1));
      });
      out.push(legend([['met', t('met')], ['notmet', t('not_met')], ['unknown', t('unknown')]]));
    }
    return out;
  }

  /* The report is fetched by field ui on a thread of its own (a server
   * that does not answer holds nothing here): POST starts it, the page
   * polls GET /api/report, showing the report kept meanwhile. */
  function reportView() {
    var box = el('div', { id: 'report' });
    var line = el('p', { id: 'report-status', class: 'meta', role: 'status', 'aria-live': 'polite' });
    var params = new URLSearchParams(location.hash.split('?')[1] || '');
    var unit = params.get('unit') || '';
    var q = unit ? '?unit=' + encodeURIComponent(unit) : '';
    var refresh = el('button', { type: 'button', id: 'report-refresh', text: t('refresh'), on: { click: fetchReport } });
    var actions = el('div', { class: 'row noprint' }, [
      refresh,
      el('a', { href: '/api/report.xlsx' + q, id: 'report-xlsx', download: 'bao-cao.xlsx', text: t('xlsx') }),
      el('button', { type: 'button', id: 'report-print', text: t('print'), on: { click: function () { window.print(); } } })
    ]);
    var drawn;
    function draw(x) {
      box.textContent = '';
      if (!x.report) { box.appendChild(el('p', { text: t('no_report') })); return; }
      var r = x.report;
      $('report-title').textContent = t('report_of') + ': ' + r.unit.name + ' (' + r.unit.code + ')';
      reportNodes(x, function () { draw(x); }).forEach(function (n) { box.appendChild(n); });
      box.setAttribute('data-fetched', String(x.fetched_ms));
    }
    function showState(x) {
      if (drawn !== x.fetched_ms) { draw(x); drawn = x.fetched_ms; }
      refresh.disabled = !!x.running;
      $('main').setAttribute('aria-busy', x.running ? 'true' : 'false');
      line.textContent = x.running ? t('report_fetching') : '';
      if (!x.running && x.ok === false) notice(errText(x));
    }
    function poll() {
      if (!document.body.contains(box)) return; /* the screen was left */
      api('GET', '/api/report').then(function (r) {
        if (r.status !== 200) { notice(errText(r.body)); return; }
        showState(r.body);
        if (r.body.running) setTimeout(poll, 700);
      });
    }
    function fetchReport() {
      notice('');
      api('POST', '/api/report' + q).then(function (r) {
        if (r.status === 202) { showState(r.body); setTimeout(poll, 300); }
        else if (r.status === 409 && r.body && r.body.error === 'report_running') poll();
        else notice(errText(r.body));
      });
    }
    show([el('h2', { id: 'report-title', text: t('report_of') }), actions, line, box]);
    api('GET', '/api/report').then(function (r) {
      if (r.status !== 200) { notice(errText(r.body)); return; }
      showState(r.body);
      if (r.body.running) setTimeout(poll, 700);
      else if (navigator.onLine !== false) fetchReport();
    });
  }

  function route() {
    var h = location.hash || '#/';
    var m;
    notice('');
    if (!S.csrf) { start(); return; }
    if (form && h.indexOf('#/r/' + form.id) !== 0) form = null;
    if ((m = /^#\/r\/([0-9a-f]+)\/history$/.exec(h))) historyView(m[1]);
    else if ((m = /^#\/r\/([0-9a-f]+)$/.exec(h))) recordView(m[1]);
    else if (h === '#/new') newView();
    else if (h === '#/review') reviewView();
    else if (h.indexOf('#/report') === 0) reportView();
    else listView();
    $('main').focus();
  }

  function start() {
    api('GET', '/api/session').then(function (r) {
      if (r.status === 200) {
        S.csrf = r.body.csrf; S.session = r.body;
        if (!localStorage.getItem('field-lang')) S.lang = r.body.language || 'vi';
        applyLang();
        route();
        pollSync();
      } else if (r.status === 401 && r.body && r.body.error === 'pairing_required') {
        pairView();
      } else {
        notice(errText(r.body));
      }
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    S.lang = localStorage.getItem('field-lang') || 'vi';
    applyLang();
    $('lang').addEventListener('click', function () {
      S.lang = S.lang === 'en' ? 'vi' : 'en';
      localStorage.setItem('field-lang', S.lang);
      applyLang();
      if (form) render(); else route();
      if (S.csrf) pollSync();
    });
    $('sync').addEventListener('click', startSync);
    window.addEventListener('hashchange', route);
    start();
  });
}());
