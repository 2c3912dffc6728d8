#!/usr/bin/python3
"""ui_browser.py - the web app of `field ui` in a real browser (Debian's
headless chromium through chromedriver and python3-selenium), driven by
test_ui_browser.sh, which starts `field ui` and checks the store after.

    ui_browser.py capture URL IDS_FILE [SHOTS_DIR]
    ui_browser.py resolve URL RECORD VALUE
    ui_browser.py pair URL CODE
    ui_browser.py review URL RECORD REASON
    ui_browser.py returned URL RECORD REASON
    ui_browser.py report URL REPORT_JSON online|offline
    ui_browser.py picture FILE

capture: fills an ntm-xa-2021 inspection as an inspector would (the unit
found by typing its name without diacritics, a constraint message shown
and cleared, save, a finalize that lists what is missing and links to
it), then a question that appears and disappears with an answer
(ntm-xa-kieu-mau-2021) and a repeat item with its calculations
(ha-tinh-kdc-kieu-mau); on every screen, every input has a label and
Tab reaches every control; at 360 pixels wide nothing scrolls sideways;
a photo attached through the file input (FIELD_UI_PHOTO, a JPEG) and its
thumbnail; the language switch; the sync button. The ids of the records it made go to IDS_FILE as
"NAME ID" lines; with SHOTS_DIR, screenshots of the main screens at
phone and laptop widths are saved there.

resolve: the record's conflict on households_total is shown with its
candidates; VALUE is chosen with one tap and resolved.

pair: a browser without a session gets the pairing page; a wrong code is
refused with a message; the right one opens the app.

review: on a supervisor's device, the inbox lists RECORD; a return
without a reason is refused with a message; with REASON typed, the
record is returned and leaves the inbox.

returned: on the inspector's device, after the sync, RECORD comes first
in the list of records, marked returned, with REASON.

report: the report screen of a supervisor's device draws the report in
REPORT_JSON (what `field report --json` printed): a table of tiers with
shares in Vietnamese number style, a chart of each tier by locality with
one bar per locality, a stacked chart of each criteria group, all as
inline SVG drawn by app.js; the workbook link and the print button;
offline, the report kept is shown with its date and a message. With
FIELD_UI_DISTRICTS (a JSON file {commune code: [district code, district
name]}; REPORT_JSON then a long report, kept on the device) the sort
control is checked to reorder the bars, and the bars to be grouped by
those districts, each district's row its communes' totals.

picture: writes FILE, a JPEG drawn by the browser that looks like a photo
(for the screenshots; the tests' photos are tests/tools/mkphoto's).

Each check prints "PASS name" or "FAIL name: detail"; the shell counts
them. The script exits 0 unless the browser itself cannot start.
"""

import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import (ElementNotInteractableException,
                                        StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 10  # seconds for anything the page does after a request
PHONE = (360, 740)
LAPTOP = (1280, 900)


def report(name, ok, detail=""):
    if ok:
        print("PASS " + name)
    else:
        print("FAIL %s: %s" % (name, detail))
    sys.stdout.flush()
    return ok


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--no-first-run",
              "--disable-extensions", "--disable-background-networking",
              "--lang=vi", "--window-size=%d,%d" % LAPTOP):
        opts.add_argument(a)
    service = Service("/usr/bin/chromedriver", log_output=os.devnull)
    return webdriver.Chrome(service=service, options=opts)


def wait(d, what, fn):
    """fn(d) true within WAIT seconds: a PASS naming what, else a FAIL."""
    try:
        WebDriverWait(d, WAIT).until(lambda x: fn(x))
        return report(what, True)
    except TimeoutException:
        return report(what, False, "not within %d s" % WAIT)


def by_id(d, i):
    found = d.find_elements(By.ID, i)
    return found[0] if found else None


def visible(d, i):
    e = by_id(d, i)
    return e is not None and e.is_displayed()


def notice(d):
    e = by_id(d, "notice")
    return e.text if e is not None and e.is_displayed() else ""


def click(d, e):
    """Click e as a person would: scrolled to the middle of the screen
    first, clear of the bar of actions that stays at the bottom."""
    d.execute_script("arguments[0].scrollIntoView({block: 'center'});", e)
    e.click()


def settled(d):
    """No evaluation pending: the page asks the engine 250 ms after a
    change, marks the form aria-busy until the answer is drawn."""
    try:
        WebDriverWait(d, WAIT).until(
            lambda x: x.find_element(By.ID, "main")
            .get_attribute("aria-busy") != "true")
    except TimeoutException:
        report("the form settles after a change", False,
               "still busy after %d s" % WAIT)


def again(fn):
    """fn(), again while the form is being drawn anew under it (a busy
    machine can take a while)."""
    for _ in range(20):
        try:
            return fn()
        except (StaleElementReferenceException,
                ElementNotInteractableException):
            time.sleep(0.25)
    return fn()


def answer(d, key, value):
    """Type value into the input of question key (or of the element with
    that id, "q-..."), and leave it, as a person does: the page sends the
    change when the field loses focus."""
    def typing():
        e = by_id(d, key if key.startswith("q-") else "q-" + key)
        e.clear()
        e.send_keys(value)
        e.send_keys(Keys.TAB)
    again(typing)
    settled(d)


def choose(d, key, value):
    again(lambda: Select(by_id(d, key if key.startswith("q-") else "q-" + key))
          .select_by_value(value))
    settled(d)


# ---- checks every screen gets ----------------------------------------------

UNLABELLED_JS = """
return Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => e.offsetParent !== null && e.type !== 'hidden')
  .filter(e => !(e.labels && e.labels.length) &&
               !e.getAttribute('aria-label') &&
               !e.getAttribute('aria-labelledby'))
  .map(e => e.id || e.name || e.outerHTML.slice(0, 60));
"""

CONTROLS_JS = """
return Array.from(document.querySelectorAll(
    'a[href], button, input, select, textarea'))
  .filter(e => e.offsetParent !== null && !e.disabled)
  .map(e => e.id || e.textContent.trim().slice(0, 30));
"""


def labelled(d, screen):
    missing = d.execute_script(UNLABELLED_JS)
    report("%s: every input has a label" % screen, not missing,
           "no label: %s" % missing[:5])


def keyboard(d, screen):
    """Tab from the top of the page: every visible, enabled control is
    reached (nothing needs a mouse)."""
    want = d.execute_script(CONTROLS_JS)
    d.execute_script("document.activeElement && document.activeElement.blur();"
                     "window.scrollTo(0, 0);")
    body = d.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    seen = []
    for _ in range(len(want) + 20):
        a = d.switch_to.active_element
        key = a.get_attribute("id") or a.text.strip()[:30]
        if seen and key == seen[0]:
            break
        seen.append(key)
        # Tab as the keyboard sends it, not typed into the element: typed
        # into a file input, keys are taken for a file's name.
        ActionChains(d).send_keys(Keys.TAB).perform()
    missed = [w for w in want if w not in seen]
    report("%s: Tab reaches every control (%d)" % (screen, len(want)),
           not missed, "never focused: %s" % missed[:5])


def narrow(d, screen):
    d.set_window_size(*PHONE)
    time.sleep(0.3)
    wide = d.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth;")
    d.set_window_size(*LAPTOP)
    report("%s: nothing scrolls sideways at %d px" % (screen, PHONE[0]),
           wide <= 1, "%d px too wide" % wide)


def shots(d, shots_dir, name):
    if not shots_dir:
        return
    for label, size in (("phone", PHONE), ("laptop", LAPTOP)):
        d.set_window_size(*size)
        time.sleep(0.3)
        d.execute_script("window.scrollTo(0, 0);")
        d.save_screenshot(os.path.join(shots_dir, "%s-%s.png" % (name, label)))
    d.set_window_size(*LAPTOP)


def every_screen(d, screen, shots_dir=None, shot_name=None):
    labelled(d, screen)
    keyboard(d, screen)
    narrow(d, screen)
    if shot_name:
        shots(d, shots_dir, shot_name)


# ---- capture ------------------------------------------------------------------

def new_record(d, url, template, unit_query, unit_name):
    """The new-record screen: a template, the unit found by typing."""
    d.get(url + "#/new")
    if not wait(d, "the new-record screen", lambda x: len(
            Select(by_id(x, "n-template")).options) > 1
            if by_id(x, "n-template") else False):
        return None
    Select(by_id(d, "n-template")).select_by_value(template)
    by_id(d, "n-unit").send_keys(unit_query)
    xpath = "//ul[@id='n-results']//button[contains(., '%s')]" % unit_name
    if not wait(d, "%s found by typing '%s'" % (unit_name, unit_query),
                lambda x: x.find_elements(By.XPATH, xpath)):
        return None
    d.find_element(By.XPATH, xpath).click()
    d.find_element(By.CSS_SELECTOR, "form button.primary").click()
    if not wait(d, "a new %s record opens" % template,
                lambda x: x.current_url.split("#")[-1].startswith("/r/")
                and by_id(x, "save") is not None):
        return None
    return d.current_url.split("#/r/")[-1]


def ntm_xa(d, url, ids, shots_dir):
    d.get(url)
    if wait(d, "the record list", lambda x: by_id(x, "records")):
        report("the page is in Vietnamese first",
               d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
               and by_id(d, "nav-new").text == "Phiếu mới",
               by_id(d, "nav-new").text)
        every_screen(d, "list")
    d.get(url + "#/new")
    wait(d, "the new-record screen", lambda x: by_id(x, "n-unit"))
    every_screen(d, "new record", shots_dir, "new")

    rid = new_record(d, url, "ntm-xa-2021", "ky xuan", "Kỳ Xuân")
    if rid is None:
        return
    ids.write("ntm %s\n" % rid)
    report("the unit was found without its diacritics", "Kỳ Xuân" in
           d.find_element(By.TAG_NAME, "h2").text,
           d.find_element(By.TAG_NAME, "h2").text)

    # A constraint with its own message: the 2021-2025 set, years 2022-2025.
    answer(d, "year", "2030")
    if wait(d, "a constraint message appears",
            lambda x: visible(x, "q-year-err")):
        report("the constraint message is the template's, in Vietnamese",
               "2022–2025" in by_id(d, "q-year-err").text,
               by_id(d, "q-year-err").text)
    answer(d, "year", "2025")
    wait(d, "the constraint message goes once the answer is right",
         lambda x: not visible(x, "q-year-err"))

    # Typing in the next field while the form is drawn again after the
    # last change: what is being typed stays.
    again(lambda: by_id(d, "q-households_total").send_keys("1200", Keys.TAB))
    d.switch_to.active_element.send_keys("77")
    settled(d)
    active = d.switch_to.active_element
    report("typing survives the form being drawn again",
           active.get_attribute("id") == "q-population_total"
           and active.get_attribute("value") == "77",
           "%s = %s" % (active.get_attribute("id"),
                        active.get_attribute("value")))

    # A constraint between two answers: poor households <= households.
    answer(d, "households_total", "1200")
    answer(d, "households_poor", "5000")
    wait(d, "a constraint between two answers is shown",
         lambda x: visible(x, "q-households_poor-err"))
    answer(d, "households_poor", "30")
    wait(d, "... and cleared", lambda x: not visible(x, "q-households_poor-err"))
    answer(d, "population_total", "5400")
    settled(d)

    by_id(d, "save").click()
    wait(d, "save says one signed version was made",
         lambda x: "Đã lưu" in notice(x))
    every_screen(d, "form", shots_dir, "form")
    if os.environ.get("FIELD_UI_PHOTO"):
        attach_photo(d, "plan_photo", os.environ["FIELD_UI_PHOTO"], shots_dir)

    # Finalize with questions missing: listed, each a link to its question.
    by_id(d, "finalize").click()
    if wait(d, "finalize lists what is missing",
            lambda x: x.find_elements(By.CSS_SELECTOR, "#missing a")):
        links = d.find_elements(By.CSS_SELECTOR, "#missing a")
        report("the missing list names several questions", len(links) > 5,
               "%d links" % len(links))
        click(d, links[1])
        focused = d.switch_to.active_element.get_attribute("id") or ""
        report("a link of the missing list focuses its question",
               focused.startswith("q-"), "focus on '%s'" % focused)
        shots(d, shots_dir, "finalize-missing")

    # History: one save, by this device's inspector.
    d.get(url + "#/r/%s/history" % rid)
    wait(d, "the history lists the save",
         lambda x: "households_poor" in x.find_element(By.ID, "main").text)


def attach_photo(d, key, path, shots_dir):
    """A photo question: a file input that opens the camera on a phone
    (the file chooser here, given the path as a person would pick it);
    the photo is sent, saved as one signed version, and its thumbnail
    shown with alt text."""
    inp = by_id(d, "q-" + key)
    if not report("a photo question has a file input for camera or gallery",
                  inp is not None and inp.get_attribute("type") == "file"
                  and inp.get_attribute("accept") == "image/jpeg"
                  and inp.get_attribute("capture") == "environment",
                  inp.get_attribute("outerHTML") if inp else "absent"):
        return
    inp.send_keys(path)
    wait(d, "the photo is sent and saved, and the page says so",
         lambda x: "Đã lưu ảnh" in notice(x))
    img_id = "q-%s-img" % key
    if not wait(d, "... and its thumbnail is shown",
                lambda x: by_id(x, img_id) is not None and x.execute_script(
                    "return arguments[0].complete && "
                    "arguments[0].naturalWidth > 0;", by_id(x, img_id))):
        return
    alt = by_id(d, img_id).get_attribute("alt")
    report("... with alt text naming the question", "Ảnh:" in alt
           and len(alt) > len("Ảnh: "), alt)
    if shots_dir:
        d.set_window_size(*PHONE)
        time.sleep(0.3)
        d.execute_script("arguments[0].scrollIntoView({block: 'center'});",
                         by_id(d, "q-%s-box" % key))
        d.save_screenshot(os.path.join(shots_dir, "photo-phone.png"))
        d.set_window_size(*LAPTOP)


def relevant(d, url, ids):
    rid = new_record(d, url, "ntm-xa-kieu-mau-2021", "ky xuan", "Kỳ Xuân")
    if rid is None:
        return
    ids.write("kieu_mau %s\n" % rid)
    box = "q-nang_cao_decision_no-box"
    report("a question hidden until its condition holds", not visible(d, box))
    choose(d, "nang_cao_recognised", "yes")
    wait(d, "... appears when the answer makes it relevant",
         lambda x: visible(x, box))
    choose(d, "nang_cao_recognised", "no")
    wait(d, "... and goes when the answer changes back",
         lambda x: not visible(x, box))
    # A calculation from the province's thresholds, shown read-only.
    calc = by_id(d, "q-income_required_mvnd")
    report("a calculated question is an output, not an input",
           calc is not None and calc.tag_name == "output",
           calc.tag_name if calc else "absent")
    settled(d)
    by_id(d, "save").click()
    wait(d, "the record with a relevant answer saves",
         lambda x: "Đã lưu" in notice(x))


def repeat(d, url, ids, shots_dir):
    rid = new_record(d, url, "ha-tinh-kdc-kieu-mau", "xuan hai",
                     "Thôn Xuân Hải")
    if rid is None:
        return
    ids.write("kdc %s\n" % rid)
    add = d.find_element(By.XPATH, "//fieldset[@id='sec-ho_kiem_tra']"
                         "/button[not(ancestor::fieldset[@class='item'])]")
    click(d, add)
    head = "//fieldset[@id='sec-ho_kiem_tra']//fieldset[@class='item']"
    if not wait(d, "adding an item gives its questions",
                lambda x: x.find_elements(By.XPATH, head)):
        return
    item = d.find_elements(By.XPATH, head)[0]
    # Ids as the page makes them: q-ho_kiem_tra_<item>__hh_head.
    name = item.find_element(By.CSS_SELECTOR, "input[id$='__hh_head']")
    prefix = name.get_attribute("id")[:-len("hh_head")]
    # A new item's choices are there before anything is typed in it.
    choose(d, prefix + "hh_house", "yes")
    answer(d, prefix + "hh_head", "Nguyễn Văn An")
    for f in ("hh_garden", "hh_hedge", "hh_latrine"):
        choose(d, prefix + f, "yes")
    wait(d, "an item's calculation follows its answers",
         lambda x: by_id(x, prefix + "hh_all_ok") is not None
         and by_id(x, prefix + "hh_all_ok").text == "1")
    wait(d, "the record's calculations count the items",
         lambda x: by_id(x, "q-sample_n") is not None
         and by_id(x, "q-sample_n").text == "1"
         and by_id(x, "q-sample_all_ok").text == "1")
    by_id(d, "save").click()
    wait(d, "the record with a repeat item saves",
         lambda x: "Đã lưu" in notice(x))
    shots(d, shots_dir, "repeat")


def language(d, url, shots_dir):
    d.get(url)
    wait(d, "the list again, with the records made",
         lambda x: len(x.find_elements(By.CSS_SELECTOR, "#records a")) == 3)
    shots(d, shots_dir, "list")
    by_id(d, "lang").click()
    wait(d, "one tap switches to English",
         lambda x: by_id(x, "nav-new").text == "New record"
         and x.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
    by_id(d, "lang").click()
    wait(d, "... and back to Vietnamese",
         lambda x: by_id(x, "nav-new").text == "Phiếu mới")


def sync(d, url):
    """The sync button: the versions saved here go to the server."""
    d.get(url)
    if not wait(d, "the sync line says what waits to be sent",
                lambda x: "chờ gửi" in by_id(x, "sync-status").text):
        return
    click(d, by_id(d, "sync"))
    wait(d, "the sync button syncs, and says so",
         lambda x: "Đồng bộ xong" in by_id(x, "sync-status").text
         and "0 chờ gửi" in by_id(x, "sync-status").text)


def capture(url, ids_path, shots_dir):
    d = browser()
    try:
        with open(ids_path, "w") as ids:
            ntm_xa(d, url, ids, shots_dir)
            relevant(d, url, ids)
            repeat(d, url, ids, shots_dir)
            language(d, url, shots_dir)
            sync(d, url)
    except WebDriverException as e:
        report("the browser session", False, str(e).splitlines()[0])
    finally:
        d.quit()


# ---- a conflict ---------------------------------------------------------------

def resolve(url, rid, value):
    """A record two devices changed offline: its conflict shown with both
    values, who and when; the one that is right chosen with one tap, and
    one signed resolution made."""
    d = browser()
    try:
        d.get(url + "#/r/" + rid)
        if not wait(d, "the conflict is shown with its candidates",
                    lambda x: len(x.find_elements(
                        By.CSS_SELECTOR, "#conflicts input[type=radio]")) >= 2):
            return
        labelled(d, "conflicts")
        report("the record cannot be saved while it has a conflict",
               not by_id(d, "save").is_enabled())
        xpath = ("//fieldset[@id='conflicts']//label[starts-with(., '%s')]"
                 % value)
        labels = d.find_elements(By.XPATH, xpath)
        if not report("each candidate is offered, %s among them" % value,
                      len(labels) == 1, "%d labels" % len(labels)):
            return
        click(d, labels[0])
        shots(d, os.environ.get("FIELD_UI_SHOTS"), "conflict")
        click(d, by_id(d, "resolve"))
        wait(d, "resolving says one signed version was made",
             lambda x: "Đã giải quyết" in notice(x))
        wait(d, "... and the conflict is gone, the record editable",
             lambda x: by_id(x, "conflicts") is None
             and by_id(x, "save").is_enabled())
        report("the chosen value is the answer shown",
               by_id(d, "q-households_total").get_attribute("value") == value,
               by_id(d, "q-households_total").get_attribute("value"))
    except WebDriverException as e:
        report("the browser session", False, str(e).splitlines()[0])
    finally:
        d.quit()


# ---- pairing ------------------------------------------------------------------

def pair(url, code):
    d = browser()
    try:
        d.get(url)
        if not wait(d, "a browser without a session gets the pairing page",
                    lambda x: by_id(x, "pair-code")):
            return
        labelled(d, "pairing")
        wrong = "00000000" if code != "00000000" else "11111111"
        by_id(d, "pair-code").send_keys(wrong)
        d.find_element(By.CSS_SELECTOR, "form button.primary").click()
        wait(d, "a wrong code is refused with a message",
             lambda x: notice(x) != "" and by_id(x, "pair-code"))
        by_id(d, "pair-code").clear()
        by_id(d, "pair-code").send_keys(code)
        d.find_element(By.CSS_SELECTOR, "form button.primary").click()
        wait(d, "the right code opens the app",
             lambda x: by_id(x, "records") is not None)
    except WebDriverException as e:
        report("the browser session", False, str(e).splitlines()[0])
    finally:
        d.quit()


# ---- review ---------------------------------------------------------------------

def review(url, rid, reason):
    """A supervisor returns a record with a reason, from the inbox."""
    d = browser()
    try:
        d.get(url)
        if not wait(d, "a supervisor's device shows the review link",
                    lambda x: visible(x, "nav-review")):
            return
        click(d, by_id(d, "nav-review"))
        if not wait(d, "the inbox lists the final record",
                    lambda x: by_id(x, "rv-" + rid) is not None):
            return
        every_screen(d, "review inbox", os.environ.get("FIELD_UI_SHOTS"),
                     "review")
        item = by_id(d, "rv-" + rid)
        idx = item.find_element(By.TAG_NAME, "textarea").get_attribute(
            "id").split("-")[-1]
        click(d, by_id(d, "rv-return-" + idx))
        wait(d, "a return without a reason is refused with a message",
             lambda x: "lý do" in notice(x))
        report("... and the reason's box has the focus",
               d.switch_to.active_element.get_attribute("id")
               == "rv-note-" + idx)
        by_id(d, "rv-note-" + idx).send_keys(reason)
        click(d, by_id(d, "rv-return-" + idx))
        wait(d, "the return is recorded, one signed version",
             lambda x: "Đã ghi quyết định" in notice(x))
        wait(d, "... and the record leaves the inbox",
             lambda x: by_id(x, "inbox") is not None
             and by_id(x, "inbox").get_attribute("data-loaded") == "true"
             and by_id(x, "rv-" + rid) is None)
    except WebDriverException as e:
        report("the browser session", False, str(e).splitlines()[0])
    finally:
        d.quit()


def returned(url, rid, reason):
    """The inspector's list: the returned record first, with the reason."""
    d = browser()
    try:
        d.get(url)
        if not wait(d, "the record list", lambda x: x.find_elements(
                By.CSS_SELECTOR, "#records li a")):
            return
        report("an inspector's device has no review link",
               not visible(d, "nav-review"))
        first = d.find_elements(By.CSS_SELECTOR, "#records li")[0]
        link = first.find_element(By.TAG_NAME, "a").get_attribute("href")
        report("the returned record comes first in the list",
               link.endswith("#/r/" + rid)
               and "returned" in first.get_attribute("class"), link)
        report("... with the supervisor's reason", reason in first.text,
               first.text)
    except WebDriverException as e:
        report("the browser session", False, str(e).splitlines()[0])
    finally:
        d.quit()


# ---- the province report -----------------------------------------------------------

def vi_pct(tenths):
    return "%d,%d%%" % (tenths // 10, tenths % 10)


def chart_rows(d, chart):
    """(class, label, met, total) of each bar of the chart, in order."""
    svg = by_id(d, chart)
    out = []
    for g in svg.find_elements(By.CSS_SELECTOR, "g") if svg else []:
        label = g.find_element(By.CSS_SELECTOR, "text.label") \
            .get_attribute("textContent").strip("\u2003")
        fig = g.find_element(By.CSS_SELECTOR, "text.fig") \
            .get_attribute("textContent")
        met, total = (int(x.replace(".", "")) for x in fig.split("/"))
        out.append((g.get_attribute("class"), label, met, total))
    return out


def first_chart(r):
    """The id of the first tier-by-locality chart and its localities."""
    for ti, t in enumerate(r["tiers"]):
        locs = [l for l in r["localities"]
                if l["tiers"].get(t["code"], {}).get("total", 0) > 0]
        if locs:
            return "chart-loc-%d" % ti, locs
    return None, []


def short(name):
    return name[:25] if len(name) <= 26 else name[:25] + "…"


def segments(rows):
    """The runs of locality rows between group rows (one run when the
    chart is not grouped)."""
    out, cur = [], []
    for x in rows:
        if x[0] == "group":
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(x)
    if cur:
        out.append(cur)
    return out


def sort_control(d, r):
    """The sort control reorders the bars (within each district when they
    are grouped): the report's order first; by name, the same localities
    in another order; by progress, the share met never rises down a run."""
    chart, locs = first_chart(r)
    if chart is None or len(locs) < 3:
        report("the report has a long chart to sort", False,
               "%d localities" % len(locs))
        return
    order = {short(l["name"]): i for i, l in enumerate(locs)}
    before = segments(chart_rows(d, chart))
    report("bars in the report's order at first (%d)" % len(locs),
           all([order.get(x[1]) for x in seg]
               == sorted(order.get(x[1]) for x in seg) for seg in before),
           [x[1] for x in before[0][:4]])
    Select(by_id(d, "report-sort")).select_by_value("name")
    after = segments(chart_rows(d, chart))
    report("sorted by name: the same localities, in another order",
           sorted(sorted(x[1] for x in seg) for seg in after)
           == sorted(sorted(x[1] for x in seg) for seg in before)
           and after != before, [x[1] for x in after[-1][:4]])
    report("... the sort control keeps the focus",
           d.switch_to.active_element.get_attribute("id") == "report-sort")
    Select(by_id(d, "report-sort")).select_by_value("progress")
    ok = True
    for seg in segments(chart_rows(d, chart)):
        shares = [m / t if t else 0 for _, _, m, t in seg]
        ok = ok and all(a >= b for a, b in zip(shares, shares[1:]))
    report("sorted by progress: the share met never rises down the chart",
           ok)
    Select(by_id(d, "report-sort")).select_by_value("code")


def grouping(d, r, districts):
    """A long report whose communes' districts the device knows: each
    district's row, with its communes' totals, before its communes; the
    communes of no known district last."""
    chart, locs = first_chart(r)
    rows = chart_rows(d, chart)
    groups = [x for x in rows if x[0] == "group"]
    names = []
    for l in locs:
        dn = districts.get(l["code"], [None, "Chưa rõ huyện"])[1]
        if dn not in names:
            names.append(dn)
    names = [n for n in names if n != "Chưa rõ huyện"] + ["Chưa rõ huyện"]
    report("grouped by district: a row per district, in order (%d)"
           % len(names), [g[1] for g in groups] == names,
           [g[1] for g in groups])
    ok, i = True, 0
    while i < len(rows):
        g = rows[i]
        i += 1
        met = total = 0
        while i < len(rows) and rows[i][0] != "group":
            met += rows[i][2]
            total += rows[i][3]
            i += 1
        ok = ok and g[0] == "group" and (g[2], g[3]) == (met, total)
    report("... each district's row the totals of its communes",
           ok and len(rows) == len(locs) + len(names),
           "%d rows for %d localities" % (len(rows), len(locs)))
    shots_dir = os.environ.get("FIELD_UI_SHOTS")
    for label, size in (("phone", PHONE), ("laptop", LAPTOP)) if shots_dir \
            else ():
        d.set_window_size(*size)
        time.sleep(0.3)
        d.execute_script("arguments[0].scrollIntoView({block: 'start'});",
                         by_id(d, "report-sort"))
        d.save_screenshot(os.path.join(shots_dir,
                                       "report-long-%s.png" % label))
    d.set_window_size(*LAPTOP)


def report_screen(url, path, mode):
    import json
    with open(path) as f:
        r = json.load(f)
    d = browser()
    try:
        d.get(url)
        if not wait(d, "a supervisor's device shows the report link",
                    lambda x: visible(x, "nav-report")):
            return
        click(d, by_id(d, "nav-report"))
        if not wait(d, "the report is drawn",
                    lambda x: by_id(x, "tiers") is not None):
            return
        settled(d)
        if mode == "offline":
            wait(d, "offline, a message says the report is the one kept",
                 lambda x: "Không kết nối được máy chủ" in notice(x))
        date = "/".join(reversed(r["as_of"].split("-")))
        report("the report shows its date (%s)" % date,
               date in by_id(d, "report-date").text,
               by_id(d, "report-date").text)
        cells = d.find_elements(By.CSS_SELECTOR, "#tiers tbody tr")
        report("the table has a row per tier (%d)" % len(r["tiers"]),
               len(cells) == len(r["tiers"]), "%d rows" % len(cells))
        if r["tiers"]:
            share = cells[0].find_elements(By.TAG_NAME, "td")[2].text
            report("shares in Vietnamese number style (%s)"
                   % vi_pct(r["tiers"][0]["share_tenths"]),
                   share == vi_pct(r["tiers"][0]["share_tenths"]), share)
        charts = 0
        for ti, t in enumerate(r["tiers"]):
            locs = [l for l in r["localities"]
                    if l["tiers"].get(t["code"], {}).get("total", 0) > 0]
            if not locs:
                continue
            charts += 1
            svg = by_id(d, "chart-loc-%d" % ti)
            rows = svg.find_elements(By.CSS_SELECTOR, "g.row") if svg else []
            report("%s by locality: one bar per locality (%d)"
                   % (t["code"], len(locs)), len(rows) == len(locs),
                   "%d rows" % len(rows))
            met = [l for l in locs if l["tiers"][t["code"]]["met"] > 0]
            bars = svg.find_elements(By.CSS_SELECTOR, "g.row rect.seg.met") \
                if svg else []
            report("... a met bar for each locality with any met (%d)"
                   % len(met), len(bars) == len(met), "%d bars" % len(bars))
            label = rows[0].find_element(By.CSS_SELECTOR, "text.label") \
                .get_attribute("textContent") if rows else ""
            report("... labelled with the locality's name",
                   locs[0]["name"][:25] in label, label)
        report("the report has charts of tiers by locality", charts > 0,
               "no tier with localities in the report")
        for gi, g in enumerate(r["criteria"]):
            if not g["criteria"]:
                continue
            svg = by_id(d, "chart-crit-%d" % gi)
            rows = svg.find_elements(By.CSS_SELECTOR, "g.row") if svg else []
            report("criteria of %s: a stacked bar per criterion (%d)"
                   % (g["tier"], len(g["criteria"])),
                   len(rows) == len(g["criteria"]), "%d rows" % len(rows))
            break
        if os.environ.get("FIELD_UI_DISTRICTS"):
            sort_control(d, r)
            with open(os.environ["FIELD_UI_DISTRICTS"]) as f:
                grouping(d, r, json.load(f))
        link = by_id(d, "report-xlsx")
        report("a link downloads the workbook",
               link is not None
               and link.get_attribute("href").endswith("/api/report.xlsx"))
        report("a print button", visible(d, "report-print"))
        every_screen(d, "report " + mode, os.environ.get("FIELD_UI_SHOTS")
                     if mode == "online" else None, "report")
    except WebDriverException as e:
        report("the browser session", False, str(e).splitlines()[0])
    finally:
        d.quit()


PICTURE_JS = """
var c = document.createElement('canvas'); c.width = 640; c.height = 480;
var g = c.getContext('2d');
var sky = g.createLinearGradient(0, 0, 0, 260);
sky.addColorStop(0, '#7fb2e5'); sky.addColorStop(1, '#d9ecf7');
g.fillStyle = sky; g.fillRect(0, 0, 640, 260);
g.fillStyle = '#6a9f4b'; g.fillRect(0, 260, 640, 220);
g.fillStyle = '#b9b4a8';
g.beginPath(); g.moveTo(250, 480); g.lineTo(390, 480); g.lineTo(330, 260);
g.lineTo(310, 260); g.closePath(); g.fill();
for (var i = 0; i < 9; i++) {
  var k = 1 - i / 10, y = 440 - i * 20, r = 34 * k;
  g.fillStyle = i % 2 ? '#2f6b2a' : '#3d7f33';
  g.beginPath(); g.arc(215 - i * 10 * k, y, r, 0, 7); g.fill();
  g.beginPath(); g.arc(425 + i * 10 * k - 100 * (1 - k), y, r, 0, 7); g.fill();
}
return c.toDataURL('image/jpeg', 0.85).split(',')[1];
"""


def picture(path):
    """A JPEG that looks like a photo (a lane between green hedges), drawn
    by the browser itself: for the screenshots of the photo question."""
    import base64
    d = browser()
    try:
        d.get("about:blank")
        with open(path, "wb") as f:
            f.write(base64.b64decode(d.execute_script(PICTURE_JS)))
    finally:
        d.quit()


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "capture":
        capture(sys.argv[2], sys.argv[3],
                sys.argv[4] if len(sys.argv) > 4 else None)
    elif len(sys.argv) == 5 and sys.argv[1] == "resolve":
        resolve(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "review":
        review(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "returned":
        returned(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        report_screen(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "picture":
        picture(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "pair":
        pair(sys.argv[2], sys.argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
