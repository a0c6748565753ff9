#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Check the fleet examples against what restockd really exports.

  check_fleet_examples.py METRICS_FILE RULES_YML GRAFANA_JSON OUT_RULES_YML [HTTP_API_MD]

METRICS_FILE is a /metrics body of a running gateway. Checks that:
  - the Grafana dashboard is well-formed: a title, a uid, the DS_PROMETHEUS
    input, panels with unique ids, a known type, a grid position inside 24
    columns, targets with a refId and an expr; template variables defined
    before use;
  - every restock_* metric named in a panel, a template query or an alerting
    rule is one /metrics exports (a histogram's _bucket/_sum/_count count);
  - with HTTP_API_MD (docs/http-api.md): its Metrics table names exactly the
    metric families /metrics exports (# TYPE lines), no more, no fewer;
  - writes every panel expression (variables replaced by .*) as a recording
    rule into OUT_RULES_YML, for `promtool check rules` to parse as PromQL.
Exit 1 with one line per problem.
"""
import json
import re
import sys

NAME = re.compile(r'\brestock_[a-z0-9_]+\b')
TYPES = {'stat', 'table', 'timeseries', 'gauge', 'bargauge', 'text', 'row'}


def exported(metrics_text):
    names = set()
    for line in metrics_text.splitlines():
        if line.startswith('# TYPE '):
            _, _, name, typ = line.split(' ', 3)
            names.add(name)
            if typ.strip() in ('histogram', 'summary'):
                names.update({name + '_bucket', name + '_sum', name + '_count'})
        elif line and not line.startswith('#'):
            names.add(re.split(r'[{ ]', line, 1)[0])
    return names


def main():
    metrics_file, rules_file, grafana_file, out_rules = sys.argv[1:5]
    have = exported(open(metrics_file, encoding='utf-8').read())
    problems = []
    d = json.load(open(grafana_file, encoding='utf-8'))
    for key in ('title', 'uid', 'panels', 'templating', 'schemaVersion'):
        if key not in d:
            problems.append(f'grafana: no "{key}"')
    if not any(i.get('name') == 'DS_PROMETHEUS' for i in d.get('__inputs', [])):
        problems.append('grafana: no DS_PROMETHEUS input (import would not ask for the datasource)')
    variables = [v['name'] for v in d.get('templating', {}).get('list', [])]
    exprs = []
    for v in d.get('templating', {}).get('list', []):
        q = v.get('query')
        q = q.get('query') if isinstance(q, dict) else q
        for n in NAME.findall(q or ''):
            if n not in have:
                problems.append(f'grafana variable {v["name"]}: {n} is not exported')
    ids = set()
    for p in d.get('panels', []):
        where = f'grafana panel {p.get("id")} "{p.get("title")}"'
        if p.get('id') in ids:
            problems.append(where + ': duplicate id')
        ids.add(p.get('id'))
        if p.get('type') not in TYPES:
            problems.append(where + f': unknown type {p.get("type")}')
        g = p.get('gridPos', {})
        if not all(isinstance(g.get(k), int) for k in 'xywh') or g['x'] + g['w'] > 24 or g['w'] < 1:
            problems.append(where + f': bad gridPos {g}')
        if p.get('type') != 'row' and not p.get('targets'):
            problems.append(where + ': no targets')
        for t in p.get('targets', []):
            e = t.get('expr', '')
            if not e or not t.get('refId'):
                problems.append(where + ': a target without expr or refId')
            if not NAME.search(e):
                problems.append(where + f': expr names no restock metric: {e}')
            for n in NAME.findall(e):
                if n not in have:
                    problems.append(where + f': {n} is not exported by /metrics')
            for var in re.findall(r'\$(\w+)', e):
                if var not in variables:
                    problems.append(where + f': ${var} is not a template variable')
            exprs.append(re.sub(r'\$\w+', '.*', e))
    for n in NAME.findall(open(rules_file, encoding='utf-8').read()):
        if n not in have:
            problems.append(f'{rules_file}: {n} is not exported by /metrics')
    if len(sys.argv) > 5:
        doc = set(re.findall(r'^\| `(restock_[a-z0-9_]+)` \|', open(sys.argv[5], encoding='utf-8').read(),
                             re.M))
        families = {line.split(' ')[2] for line in open(metrics_file, encoding='utf-8')
                    if line.startswith('# TYPE ')}
        for n in sorted(families - doc):
            problems.append(f'{sys.argv[5]}: the Metrics table lacks {n}, which /metrics exports')
        for n in sorted(doc - families):
            problems.append(f'{sys.argv[5]}: the Metrics table lists {n}, which /metrics does not '
                            'export')
    with open(out_rules, 'w', encoding='utf-8') as f:
        f.write('groups:\n  - name: grafana-exprs\n    rules:\n')
        for i, e in enumerate(exprs):
            f.write(f'      - record: grafana_expr_{i}\n        expr: {json.dumps(e)}\n')
    for p in problems:
        print('FAIL: ' + p)
    print(f'checked {len(d.get("panels", []))} panels, {len(exprs)} expressions, '
          f'{len(have)} exported names')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
