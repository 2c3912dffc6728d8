#!/usr/bin/env python3
"""province.py OUTDIR - a synthetic province shaped like the one in the
source document (../shared/domain/seed-summary.md), for test_report.sh.

It writes, into OUTDIR:
  units.csv        province 90, 12 district-level units (valid until the
                   district level ends on 1 July 2025), 170 communes (the
                   last does not take part in the programme, as Kỳ Lợi
                   does not) under their districts, then under the
                   province; 1,512 villages
  t-*.json         four small checklist templates, one per programme tier,
                   each with three criteria; the second criterion needs a
                   threshold the template leaves unknown
  thresholds.json  the province's values for those thresholds (unsigned)
  targets.csv      the document's targets: >= 75 advanced, >= 22 model
  a.jsonl b.jsonl c.jsonl   the final records three inspectors capture
  extra.jsonl      two more advanced assessments: one to be rejected, one
                   to be approved only after the report's date
  expect.json      the figures the report must give, computed here from
                   the counts, independently of the program

The counts are the document's: every commune taking part meets NTM, 69
meet the advanced tier, 18 the model tier, and 1,205 of the 1,512 villages
are model residential areas. The test adds on top: a record returned and
corrected, a rejected one, and one approved only after the report's date.
"""
import json
import os
import sys

PROVINCE = "90"
N_DISTRICTS = 12
N_COMMUNES = 170
N_VILLAGES = 1512
N_ADVANCED = 69
N_MODEL = 18
N_MODEL_VILLAGES = 1205
N_VILLAGES_NOT_MET = 250  # approved, but a criterion is not met
N_VILLAGES_WAITING = N_VILLAGES - N_MODEL_VILLAGES - N_VILLAGES_NOT_MET
# ... the rest (57) are final but nobody approved them by the report date

TIERS = [  # code, label vi, label en, kind, implies
    ("xa-ntm", "Xã đạt chuẩn NTM", "Commune meets NTM", "xa", []),
    ("xa-ntm-nang-cao", "Xã đạt chuẩn NTM nâng cao", "Advanced NTM commune",
     "xa", ["xa-ntm"]),
    ("xa-ntm-kieu-mau", "Xã đạt chuẩn NTM kiểu mẫu", "Model NTM commune",
     "xa", ["xa-ntm-nang-cao"]),
    ("kdc-kieu-mau", "Khu dân cư NTM kiểu mẫu", "Model residential area",
     "thon", []),
]


def district(i):
    return "%s%02d" % (PROVINCE, i + 1)


def commune(i):
    return "%s%03d" % (PROVINCE, i + 1)


def village(i):
    return "%s%04d" % (PROVINCE, i + 1)


def commune_of_village(i):
    return i * N_COMMUNES // N_VILLAGES


def district_of_commune(i):
    return i * N_DISTRICTS // N_COMMUNES


def units():
    rows = ["code,name,kind,parent_code,valid_from,valid_to,in_programme"]
    rows.append("%s,Tỉnh Thử Nghiệm,tinh,,2000-01-01,,yes" % PROVINCE)
    for d in range(N_DISTRICTS):
        rows.append("%s,Huyện Thử %d,huyen,%s,2000-01-01,2025-06-30,yes"
                    % (district(d), d + 1, PROVINCE))
    for c in range(N_COMMUNES):
        taking_part = "no" if c == N_COMMUNES - 1 else "yes"
        name = "Kỳ Lợi Thử" if c == N_COMMUNES - 1 else "Xã Thử %d" % (c + 1)
        rows.append("%s,%s,xa,%s,2000-01-01,2025-06-30,%s"
                    % (commune(c), name, district(district_of_commune(c)),
                       taking_part))
        # after the districts go, the commune stands under the province
        rows.append("%s,%s,xa,%s,2025-07-01,,%s"
                    % (commune(c), name, PROVINCE, taking_part))
    for v in range(N_VILLAGES):
        rows.append("%s,Thôn Thử %d,thon,%s,2000-01-01,,yes"
                    % (village(v), v + 1, commune(commune_of_village(v))))
    return "\n".join(rows) + "\n"


def template(code, vi, en, kind, implies):
    yes_no = [{"name": "yes", "label": {"vi": "Có", "en": "Yes"}},
              {"name": "no", "label": {"vi": "Không", "en": "No"}}]
    tier = {"code": code, "label": {"vi": vi, "en": en}, "requires": "all"}
    if implies:
        tier["implies"] = implies
    prov = {"source": "Bộ phiếu thử nghiệm (test)", "verified": False}
    return {
        "id": "t-" + code, "version": "1",
        "title": {"vi": vi + " (thử nghiệm)", "en": en + " (test)"},
        "subject_kind": kind,
        "thresholds": {"min_score": {
            "label": {"vi": "Điểm tối thiểu", "en": "Minimum score"},
            "value": None, "provenance": prov}},
        "choices": {"yes_no": yes_no},
        "sections": [{"name": "main", "label": {"vi": "Chung", "en": "General"},
                      "questions": [
            {"name": "c1", "type": "select_one", "choices": "yes_no",
             "required": True, "label": {"vi": "Tiêu chí 1", "en": "Criterion 1"}},
            {"name": "score", "type": "integer", "required": True,
             "label": {"vi": "Điểm", "en": "Score"}},
            {"name": "c3", "type": "select_one", "choices": "yes_no",
             "required": True, "label": {"vi": "Tiêu chí 3", "en": "Criterion 3"}},
        ]}],
        "criteria": [
            {"code": "1", "name": {"vi": "Quy hoạch", "en": "Planning"},
             "provenance": prov,
             "indicators": [{"code": "1.1", "text": {"vi": "Có", "en": "Yes"},
                             "met": "${c1} = 'yes'", "provenance": prov}]},
            {"code": "2", "name": {"vi": "Điểm", "en": "Score"},
             "provenance": prov,
             "indicators": [{"code": "2.1", "text": {"vi": "Đủ điểm",
                                                     "en": "Enough"},
                             "met": "${score} >= threshold('min_score')",
                             "provenance": prov}]},
            {"code": "3", "name": {"vi": "Môi trường", "en": "Environment"},
             "provenance": prov,
             "indicators": [{"code": "3.1", "text": {"vi": "Có", "en": "Yes"},
                             "met": "${c3} = 'yes'", "provenance": prov}]},
        ],
        "tier": tier,
    }


def record(code, subject, met=True):
    return {"template": "t-" + code, "subject": subject, "status": "final",
            "answers": {"c1": "yes", "score": 80,
                        "c3": "yes" if met else "no"}}


def share(n, total):
    """Tenths of a percent, rounded half up: what the report must print."""
    return (n * 1000 + total // 2) // total


def main(out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "units.csv"), "w", encoding="utf-8") as f:
        f.write(units())
    for t in TIERS:
        with open(os.path.join(out, "t-%s.json" % t[0]), "w",
                  encoding="utf-8") as f:
            json.dump(template(*t), f, ensure_ascii=False, indent=1)
    with open(os.path.join(out, "targets.csv"), "w", encoding="utf-8") as f:
        f.write("unit,tier,count,from,due,source\n"
                "%s,xa-ntm-nang-cao,75,2025-01-01,2025-12-31,Kết luận (thử)\n"
                "%s,xa-ntm-kieu-mau,22,2025-01-01,2025-12-31,Kết luận (thử)\n"
                % (PROVINCE, PROVINCE))
    with open(os.path.join(out, "thresholds.json"), "w", encoding="utf-8") as f:
        json.dump({"min_score": {"value": 50}}, f)

    records = []
    taking_part = N_COMMUNES - 1
    for c in range(taking_part):
        records.append(record("xa-ntm", commune(c)))
    for c in range(N_ADVANCED):
        records.append(record("xa-ntm-nang-cao", commune(c)))
    for c in range(N_MODEL):
        records.append(record("xa-ntm-kieu-mau", commune(c)))
    for v in range(N_VILLAGES):
        if v < N_MODEL_VILLAGES:
            records.append(record("kdc-kieu-mau", village(v)))
        else:
            records.append(record("kdc-kieu-mau", village(v), met=False))
    with open(os.path.join(out, "extra.jsonl"), "w", encoding="utf-8") as f:
        for c in (N_ADVANCED, N_ADVANCED + 1):  # rejected, approved late
            f.write(json.dumps(record("xa-ntm-nang-cao", commune(c))) + "\n")
    files = [open(os.path.join(out, n), "w", encoding="utf-8")
             for n in ("a.jsonl", "b.jsonl", "c.jsonl")]
    for i, r in enumerate(records):
        files[i % 3].write(json.dumps(r, ensure_ascii=False) + "\n")
    for f in files:
        f.close()

    per_district = [0] * N_DISTRICTS
    for c in range(taking_part):
        per_district[district_of_commune(c)] += 1
    expect = {
        "tiers": {
            "xa-ntm": [taking_part, taking_part, share(taking_part, taking_part)],
            "xa-ntm-nang-cao": [N_ADVANCED, taking_part,
                                share(N_ADVANCED, taking_part)],
            "xa-ntm-kieu-mau": [N_MODEL, taking_part,
                                share(N_MODEL, taking_part)],
            "kdc-kieu-mau": [N_MODEL_VILLAGES, N_VILLAGES,
                             share(N_MODEL_VILLAGES, N_VILLAGES)],
        },
        "communes_per_district": {district(d): per_district[d]
                                  for d in range(N_DISTRICTS)},
        "excluded": [commune(N_COMMUNES - 1)],
        "villages_not_met": N_VILLAGES_NOT_MET,
        "villages_waiting": [village(v) for v in
                             range(N_VILLAGES - N_VILLAGES_WAITING, N_VILLAGES)],
        "late_commune": commune(N_ADVANCED + 1),
        "rejected_commune": commune(N_ADVANCED),
    }
    with open(os.path.join(out, "expect.json"), "w") as f:
        json.dump(expect, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
