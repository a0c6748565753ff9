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
    metric families /metrics exports (# TYPE lines), no more, no fewer, each
    with the type and the label names its samples have, and restock_alerts'
    row lists exactly the `kind` values exported;
  - writes every panel expression (variables replaced by .*) as a recording
    rule into OUT_RULES_YML, for `promtool check rules` to parse as PromQL.
Exit 1 with one line per problem.
"""
import json
import re
import sys

NAME = re.compile(r'\brestock_[a-z0-9_]+\b')
TYPES = {'stat', 'table', 'timeseries', 'gauge', 'bargauge', 'text', 'row'}


def table_vs_samples(doc_text, metrics_text, where):
    """The Metrics table's type and labels columns against /metrics: each family's
    # TYPE, the label names of its samples (a histogram's `le` aside), and the
    `kind` values of restock_alerts (every kind always present: those its row lists)."""
    problems, rows, types, labels, kinds = [], {}, {}, {}, set()
    for m in re.finditer(r'^\| `(restock_[a-z0-9_]+)` \| ([a-z]+) \| ([^|]*) \| ([^\n]*)\|$',
                         doc_text, re.M):
        rows[m.group(1)] = (m.group(2), set(re.findall(r'`([a-z_]+)`', m.group(3))), m.group(4))
    for line in metrics_text.splitlines():
        if line.startswith('# TYPE '):
            _, _, name, typ = line.split(' ', 3)
            types[name] = typ.strip()
        elif line and not line.startswith('#'):
            name = re.split(r'[{ ]', line, 1)[0]
            fam = re.sub(r'_(bucket|sum|count)$', '', name) if name not in types else name
            names = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', line.split(' ', 1)[0]))
            labels.setdefault(fam, set()).update(names - {'le'})
            if fam == 'restock_alerts':
                kinds.update(re.findall(r'kind="([a-z_]+)"', line))
    for fam, (typ, want, _) in sorted(rows.items()):
        if fam in types and types[fam] != typ:
            problems.append(f'{where}: {fam} is a {typ} in the Metrics table, a {types[fam]} on '
                            '/metrics')
        if fam in labels and labels[fam] != want:
            problems.append(f'{where}: {fam} has labels {sorted(want)} in the Metrics table, '
                            f'{sorted(labels[fam])} on /metrics')
    if 'restock_alerts' in rows:
        listed = set(re.findall(r'`([a-z_]+)`', rows['restock_alerts'][2]))
        if kinds != listed:
            problems.append(f'{where}: restock_alerts kinds {sorted(listed)} in the Metrics '
                            f'table, {sorted(kinds)} on /metrics')
    return problems


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
        problems += table_vs_samples(open(sys.argv[5], encoding='utf-8').read(),
                                     open(metrics_file, encoding='utf-8').read(), sys.argv[5])
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
