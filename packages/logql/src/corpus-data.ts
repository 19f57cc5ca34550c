/**
 * Test corpus for the parser, printer and validator: LogQL queries from
 * Loki's documentation (log queries, metric queries, query examples, IP
 * matching, template functions) and our own mesh-flavoured ones.
 *
 * Invariants: every VALID_QUERIES entry parses, round-trips through the
 * printer and passes validation; every INVALID_QUERIES entry fails to parse
 * with a ParseError exactly at the `‸` marker (the marker is removed before
 * parsing), which keeps the expected line and column visible in the source.
 * Not a test file itself (no test-runner name) so both corpus.test and
 * fuzz.test can import it.
 */

const BT = '`';

function lines(block: string): string[] {
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('//'));
}

const SELECTORS = lines(String.raw`
{app="mysql",name="mysql-backup"}
{name=~"mysql.+"}
{name!~"mysql.+", app="mysql"}
{name !~ ${BT}mysql-\d+${BT}, job="db"}
{job="mysql"}
{container="query-frontend",namespace="loki-dev"}
{app="foo", env!="dev"}
{service_name="checkout", k8s_namespace_name="prod"}
{app=~"(?i)API"}
{app=~"api|web", env=~"prod-.+"}
{a="b",c="d",e="f",g="h"}
{ a = "b" }
{a="with \"quotes\""}
{a="tab\there"}
{a=${BT}raw\string${BT}}
{a="unicode ✓ 日本語"}
{a="\u00e9\x41\101\U0001F600"}
{a="\xc3\xa9t\xc3\xa9"}
{a="b"} # a comment after the selector
{a=~".+"}
{a=~"\\d+"}
{a="b", c=""}
{a="b", c=~""}
{by="x"}
{or="x", and="y"}
{json="x", offset="y", unwrap="z"}
{__name__="logs"}
{cluster="ops-tools1", namespace="loki-dev", job="loki-dev/query-frontend"}
{instance=~"kafka-[23]",name="kafka"}
{app="x",env!~"dev|test|staging"}
{app="a\\b"}
{app="a\nb"}
{app="'single'"}
{app=~"[[:alpha:]]+"}
{app=~"\\pL+"}
{app=~"x{2,5}"}
{app=~"(?s)a.b"}
{app=~"a|(?i:b)"}
`);

const LINE_FILTERS = lines(String.raw`
{job="mysql"} |= "error"
{instance=~"kafka-[23]",name="kafka"} != "kafka.server:type=ReplicaManager"
{name="kafka"} |~ "tsdb-ops.*io:2003"
{name="cassandra"} |~  ${BT}error=\w+${BT}
{job="mysql"} |= "error" != "timeout"
{job="mysql"} |= "error" or "fatal"
{job="mysql"} |= "a" or "b" or "c"
{job="mysql"} != "a" or "b"
{job="mysql"} |~ "a.*" or "b.*"
{job="mysql"} !~ "x" or ${BT}y\d${BT}
{job_name="myapp"} != ip("192.168.4.5-192.168.4.20")
{job_name="myapp"} |= ip("192.168.4.5/16")
{job_name="myapp"} |= ip("::1") or ip("10.0.0.0/8")
{job_name="myapp"} |= "a" or ip("10.0.0.1")
{job_name="myapp"} |= "3.180.71.3"
{job_name="myapp"} |~"^3.180.71.3"
{a="b"} |~ "(?i)error"
{a="b"} |= ""
{a="b"}|="x"|~"y"!="z"!~"w"
{a="b"} |= "line\nbreak"
{a="b"} |~ ${BT}\d{3}-\d{4}${BT}
{a="b"} |~ "[[:alpha:]]+"
{a="b"} |~ "\\pL+"
{a="b"} |~ "(?P<x>a)b"
{a="b"} |~ "a\\z"
{a="b"} |~ "\\Q.*\\E"
{a="b"} |~ "x{2,5}"
{a="b"} |~ "(?s)a.b"
{a="b"} |~ "(?i:abc)d"
{a="b"} |= "a" |= "b" |= "c"
{a="b"} |= ip("2001:db8::1-2001:db8::8")
{a="b"} != ip("2001:db8::/32")
{a="b"} |= ip("192.0.2.0")
{a="b"} |= ip("::ffff:192.0.2.1")
{a="b"} |~ "GET /api/v[0-9]+/users/[0-9a-f-]{36}"
{a="b"} |~ "\\bpanic\\b"
{a="b"} |~ "[^\\s]+@example\\.com"
{a="b"} |~ "\\x{1F600}"
{a="b"} |~ "\\p{Greek}+"
{a="b"} |~ "a{,3}"
{a="b"} |~ "\\.\\*\\:\\#"
{a="b"} != "health" != "readiness" != "liveness"
{a="b"} |= "ERROR" or "Error" or "error"
{a="b"} |= ${BT}"quoted"${BT}
{a="b"} |= "\u2028"
{a="b"} |= "emoji 🚀"
`);

const PARSERS = lines(String.raw`
{job="mysql"} | json
{a="b"} | json first_server="servers[0]", ua="request.headers[\"User-Agent\"]"
{a="b"} | json server_list="services", headers="request.headers"
{a="b"} | json servers
{a="b"} | json servers, b="x.y"
{a="b"} | json a="my.list[0][\"field\"]"
{a="b"} | logfmt
{a="b"} | logfmt host, fwd_ip="fwd"
{a="b"} | logfmt --strict
{a="b"} | logfmt --strict host, fwd_ip="fwd"
{a="b"} | logfmt --keep-empty --strict host
{a="b"} | logfmt --keep-empty
{a="b"} | pattern "<ip> - - <_> \"<method> <uri> <_>\" <status> <size> <_> \"<agent>\" <_>"
{a="b"} | pattern ${BT}<_> msg="<method> <path> (<status>) <latency>"${BT}
{a="b"} | regexp "(?P<method>\\w+) (?P<path>[\\w|/]+) \\((?P<status>\\d+?)\\) (?P<duration>.*)"
{a="b"} | regexp ${BT}(?P<user>\S+)${BT}
{a="b"} | regexp "(?<named>x)"
{a="b"} | unpack
{a="b"} | unpack | json
{a="b"} | decolorize
{job="security"} |~ "Invalid user.*" | regexp "(^(?P<user>\\S+ {1,2}){8})" | regexp "(^(?P<ip>\\S+ {1,2}){10})" | line_format "IP = {{.ip}}\tUSER = {{.user}}"
{job="security"} != "grafana_com" |= "session opened" != "sudo: " |regexp "(^(?P<user>\\S+ {1,2}){11})" | line_format "USER = {{.user}}"
{a="b"} | JSON
{a="b"} | Logfmt
{a="b"} | json | logfmt | unpack
{job="loki-ops/query-frontend"} | logfmt | line_format "{{.msg}}" | regexp "(?P<method>\\w+) (?P<path>[\\w|/]+) \\((?P<status>\\d+?)\\) (?P<duration>.*)"
{a="b"}|json|logfmt|decolorize
{a="b"} | json | json nested="a.b"
{a="b"} | pattern "<_> <level> <_>"
{a="b"} | regexp "(?P<a>x)(?P<b>y)"
`);

const LABEL_FILTERS = lines(String.raw`
{container="query-frontend",namespace="loki-dev"} |= "metrics.go" | logfmt | duration > 10s and throughput_mb < 500
{a="b"} | json | status_code != "200"
{a="b"} | logfmt | duration >= 20ms or size == 20KB and method!~"2.."
{a="b"} | logfmt | duration >= 20ms or size == 20KB | method!~"2.."
{a="b"} | logfmt | duration >= 20ms or size == 20KB , method!~"2.."
{a="b"} | logfmt | duration >= 20ms or size == 20KB  method!~"2.."
{a="b"} | logfmt | ((duration >= 20ms or method="GET") and size <= 20KB)
{a="b"} | logfmt | duration >= 20ms or (method="GET" and size <= 20KB)
{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
{app="foo"} |= "bar" | json | (duration > 1s or status!= 200) and method!="POST"
{a="b"} | json | __error__ = ""
{a="b"} | json | __error__ != ""
{a="b"} | json | __error__=~"JSONParser.*"
{job_name="myapp"} | logfmt | addr = ip("192.168.4.5/16") | addr != ip("192.168.4.2")
{job_name="myapp"} | logfmt | addr = ip("192.168.4.0/24") or addr = ip("10.10.15.0/24")
{job_name="myapp"} | logfmt | remote_addr = ip("2001:db8::1-2001:db8::8") | level = "error"
{a="b"} | json | status >= 400 | status < 500
{a="b"} | json | status = 200
{a="b"} | json | status == 200
{a="b"} | json | status != 200
{a="b"} | json | status > -1
{a="b"} | json | status > +1
{a="b"} | json | ratio <= 0.5
{a="b"} | json | ratio > 1e-3
{a="b"} | json | ratio > 0x10
{a="b"} | json | size > 1.5MiB
{a="b"} | json | size < 10KB
{a="b"} | json | size >= 1GB
{a="b"} | json | size > 20B
{a="b"} | json | size <= 3k
{a="b"} | json | size == 1Mi
{a="b"} | json | size != 2TiB
{a="b"} | json | size > 1PB
{a="b"} | json | size = 512kB
{a="b"} | json | latency > 1h30m
{a="b"} | json | latency < 1.5h
{a="b"} | json | latency > 250us
{a="b"} | json | latency > 5µs
{a="b"} | json | latency > 100ns
{a="b"} | json | latency == 0s
{a="b"} | json | latency != 1d
{a="b"} | json | latency > 1w
{a="b"} | json | latency > -5m
{a="b"} | json | latency >= 2h45m
{a="b"} | json | latency < 0.10ms
{a="b"} | json | latency = 1ms500us
{a="b"} | logfmt | level="error" level!="debug"
{a="b"} | logfmt | a="b" b="c", c="d" and d="e" or e="f"
{a="b"} | logfmt | json="x"
{a="b"} | logfmt | unwrap="x"
{a="b"} | logfmt | drop = "x"
{a="b"} | logfmt | by="x" and or="y"
{a="b"} | logfmt | a="1" or b="2" or c="3"
{a="b"} | logfmt | a="1" and (b="2" or c="3") and d="4"
{a="b"} | logfmt | (a="1")
{a="b"} | logfmt | a="1" AND b="2" OR c="3"
{a="b"} | logfmt | a =~ "x.*" , b !~ ${BT}\d+${BT}
{a="b"} | logfmt | level=~"(?i)err.*|warn"
{cluster="ops-tools1", namespace="loki-dev", job="loki-dev/query-frontend"} |= "metrics.go" != "out of order" | logfmt | duration > 30s or status_code != "200"
{a="b"} | json | response_status >= 500 and request_method = "POST"
`);

const FORMATTERS = lines(String.raw`
{a="b"} | line_format "{{.status_code}}"
{container="frontend"} | logfmt | line_format "{{.query}} {{.duration}}"
{container="frontend"} | logfmt | line_format "{{.ip}} {{.status}} {{div .duration 1000}}"
{a="b"} | line_format ${BT}{{.label_name}}${BT}
{job="mysql"} |= "error" | json | line_format "{{.err}}"
{job="mysql"} | json | line_format "{{.message}}" |= "error"
{cluster="ops-tools1", name="querier", namespace="loki-dev"} |= "metrics.go" != "loki-canary" | logfmt | query != "" | label_format query="{{ Replace .query \"\\n\" \"\" -1 }}" | line_format "{{ .ts}}\t{{.duration}}\ttraceID = {{.traceID}}\t{{ printf \"%-100.100s\" .query }} "
{a="b"} | label_format dst=src
{a="b"} | label_format dst="{{.status}} {{.query}}"
{a="b"} | label_format foo=bar | label_format foo="new"
{a="b"} | label_format a=b, c="{{.d}}", e=f
{a="b"} | line_format "{{ __line__ }}"
{a="b"} | line_format "{{ __timestamp__ | date \"2006-01-02\" }}"
{a="b"} | line_format "{{ .msg | ToUpper }}"
{a="b"} | line_format "{{ if eq .level \"error\" }}ERR{{ else }}ok{{ end }}"
{a="b"} | line_format "{{ .path | replace \"/api\" \"\" | trunc 20 }}"
{a="b"} | line_format "{{ regexReplaceAll \"(a*)bc\" .some_label \"$1\" }}"
{a="b"} | label_format level="{{ .level | lower }}"
{a="b"} | drop level, method="GET"
{job="varlogs"}|json|drop level, method="GET"
{job="varlogs"}|json|drop __error__
{job="varlogs"}|json|drop level, path, app=~"some-api.*"
{a="b"} | drop __error__, __error_details__
{job="varlogs"}|json|keep level, method="GET"
{job="varlogs"}|json|keep level, tenant, app=~"some-api.*"
{a="b"} | keep a
{a="b"} | drop a!="x", b!~"y.*"
{a="b"} | json | line_format "{{.a}}" | decolorize | line_format "{{ __line__ | trim }}"
{a="b"} | line_format ""
{a="b"} | line_format "tab\tnewline\nbackslash\\ \"quote\""
`);

const RANGE_AGGREGATIONS = lines(String.raw`
count_over_time({job="mysql"}[5m])
sum by (host) (rate({job="mysql"} |= "error" != "timeout" | json | duration > 10s [1m]))
count_over_time({job="mysql"}[5m] offset 5m)
rate({a="b"}[1m])
rate({a="b"}[1m] offset 1h)
rate({a="b"}[1m] offset -5m)
rate({a="b"}[1m] OFFSET 1d)
bytes_rate({a="b"}[5m])
bytes_over_time({a="b"}[1h])
absent_over_time({a="b"}[5m])
absent_over_time({a="b"} | json | unwrap x [5m])
rate({a="b"} | logfmt | unwrap bytes(size) [1m])
rate_counter({a="b"} | logfmt | unwrap total [1m])
sum_over_time({a="b"} | logfmt | unwrap bytes_processed [1m])
avg_over_time({a="b"} | logfmt | unwrap latency [5m]) by (path)
avg_over_time({a="b"} | logfmt | unwrap duration(latency) [5m]) without (pod)
min_over_time({a="b"} | logfmt | unwrap duration_seconds(latency) [5m])
max_over_time({a="b"} | logfmt | unwrap bytes(size) | __error__="" [5m]) by (host)
stddev_over_time({a="b"} | json | unwrap x [5m])
stdvar_over_time({a="b"} | json | unwrap x [5m]) by ()
quantile_over_time(0.99, {cluster="ops-tools1",container="ingress-nginx"} | json | __error__ = "" | unwrap request_time [1m]) by (path)
quantile_over_time(0.5, {a="b"} | json | unwrap x [1m])
quantile_over_time(1, {a="b"} | json | unwrap x [1m])
quantile_over_time(0, {a="b"} | json | unwrap x [1m])
first_over_time({a="b"} | json | unwrap x [1m]) by (a)
last_over_time({a="b"} | json | unwrap x [1m])
count_over_time({a="b"}[5m] | json)
count_over_time({a="b"}[5m] offset 1h | json | a="b")
count_over_time(({a="b"} | json)[5m])
count_over_time(({a="b"})[5m])
count_over_time((({a="b"} |= "x"))[5m] offset 2m)
count_over_time(({a="b"}[5m]))
sum_over_time({a="b"}[5m] | json | unwrap x)
sum_over_time({a="b"}[5m] offset 1m | json | unwrap x | __error__="")
sum_over_time({a="b"} | unwrap x [5m])
sum_over_time(({a="b"} | unwrap x)[5m])
sum_over_time({a="b"} | unwrap x [5m] offset 1h)
rate({a="b"}[1y])
rate({a="b"}[1w])
rate({a="b"}[1d])
rate({a="b"}[1h30m])
rate({a="b"}[90s])
rate({a="b"}[250ms])
rate({a="b"}[1m30s500ms])
rate({a="b"}[ 5m ])
rate({a="b"}[5m] offset 0s)
RATE({a="b"}[5m])
Count_Over_Time({a="b"}[5m])
rate({a="b"} |= "x" or "y" [5m])
rate({a="b"} |= ip("10.0.0.0/8") [5m])
bytes_rate({a="b"} | decolorize [5m])
count_over_time({a="b"} | pattern "<_> <status> <_>" | status >= 500 [5m])
count_over_time({a="b"} | label_format x=y | drop z | keep x [5m])
max_over_time({a="b"} | json | unwrap latency | latency > 0 and __error__="" [1m]) by (service)
avg_over_time({a="b"} | regexp "took (?P<ms>\\d+)ms" | unwrap ms [10m])
`);

const VECTOR_AGGREGATIONS = lines(String.raw`
sum(rate({a="b"}[5m]))
sum by (a, b) (rate({a="b"}[5m]))
sum without (pod) (rate({a="b"}[5m]))
sum(rate({a="b"}[5m])) by (a)
sum(rate({a="b"}[5m])) without (a)
sum by () (rate({a="b"}[5m]))
sum without () (rate({a="b"}[5m]))
avg(rate({a="b"}[5m]))
min(rate({a="b"}[5m]))
max by (a) (rate({a="b"}[5m]))
count(rate({a="b"}[5m]))
stddev(rate({a="b"}[5m]))
stdvar(rate({a="b"}[5m]))
topk(10,sum(rate({region="us-east1"}[5m])) by (name))
bottomk(3, rate({a="b"}[5m]))
topk by (a) (5, rate({a="b"}[5m]))
topk(5, rate({a="b"}[5m])) by (a)
sort(sum by (a) (rate({a="b"}[5m])))
sort_desc(sum by (a) (rate({a="b"}[5m])))
sum(count_over_time({job="mysql"}[5m])) by (level)
avg(rate(({job="nginx"} |= "GET" | json | path="/home")[10s])) by (region)
count(count_over_time({a="b"}[5m]))
sum(sum(rate({a="b"}[5m])) by (a))
SUM BY (a) (RATE({a="b"}[5m]))
sum(rate({a="b"}[5m])) BY (a)
sum(1)
sum(vector(1))
max(sum_over_time({a="b"} | json | unwrap x [5m]))
topk(1, max_over_time({a="b"} | json | unwrap x [5m]) by (host))
sum by (org_id) (sum_over_time({cluster="ops-tools1",container="loki-dev"} |= "metrics.go" | logfmt | unwrap bytes_processed [1m]))
sum by (service_name, http_response_status_code) (count_over_time({k8s_namespace_name="prod"} | json | http_response_status_code >= 500 [5m]))
`);

const BINARY_EXPRESSIONS = lines(String.raw`
sum(rate({a="b"}[5m])) / sum(rate({c="d"}[5m]))
1 + 1
1 - -1
2 * 3 + 4
2 * (3 + 4)
2 ^ 3 ^ 2
(2 ^ 3) ^ 2
-2 ^ 2
+2 * 2
1 - 2 - 3
1 - (2 - 3)
1 / 2 / 3
1 / (2 / 3)
7 % 3
(1 + 2) * (3 - 4) / (5 % 6)
rate({a="b"}[5m]) > 10
rate({a="b"}[5m]) > bool 10
sum(rate({a="b"}[5m])) == bool 0
sum(rate({a="b"}[5m])) != 0
rate({a="b"}[5m]) >= 1
rate({a="b"}[5m]) <= 1
rate({a="b"}[5m]) < 1
sum(rate({a="b"}[5m])) or vector(0)
rate({a="b"}[5m]) and rate({c="d"}[5m])
rate({a="b"}[5m]) unless rate({c="d"}[5m])
rate({a="b"}[5m]) + on(x) rate({c="d"}[5m])
rate({a="b"}[5m]) + ignoring(x) rate({c="d"}[5m])
rate({a="b"}[5m]) * on(x) group_left(y) rate({c="d"}[5m])
rate({a="b"}[5m]) * on(x) group_right rate({c="d"}[5m])
rate({a="b"}[5m]) * ignoring(x, y) group_left() rate({c="d"}[5m])
rate({a="b"}[5m]) / on() rate({c="d"}[5m])
rate({a="b"}[5m]) > bool on(x) rate({c="d"}[5m])
rate({a="b"}[5m]) and on(x) rate({c="d"}[5m])
rate({a="b"}[5m]) or ignoring(x) rate({c="d"}[5m])
rate({a="b"}[5m]) OR rate({c="d"}[5m])
rate({a="b"}[5m]) + ON(x) GROUP_LEFT(y) rate({c="d"}[5m])
rate({a="b"}[5m]) > BOOL 1
rate({a="b"}[5m]) * on(x) group_left (y) rate({c="d"}[5m])
rate({a="b"}[5m]) * on(x) group_left(y) (rate({c="d"}[5m]) + 1)
rate({a="b"}[5m]) + rate({c="d"}[5m]) * rate({e="f"}[5m])
(rate({a="b"}[5m]) + rate({c="d"}[5m])) * rate({e="f"}[5m])
rate({a="b"}[5m]) or rate({c="d"}[5m]) and rate({e="f"}[5m])
(rate({a="b"}[5m]) or rate({c="d"}[5m])) and rate({e="f"}[5m])
rate({a="b"}[5m]) - rate({c="d"}[5m]) - rate({e="f"}[5m])
rate({a="b"}[5m]) - (rate({c="d"}[5m]) - rate({e="f"}[5m]))
rate({a="b"}[5m]) ^ 2 ^ 0.5
1 + 2 == bool 3
2 > bool 1
sum(rate({a="b"} |= "error" [5m])) * 100 / sum(rate({a="b"}[5m]))
label_replace(rate({job="api-server",service="a:c"} |= "err" [5m]), "foo", "$1", "service", "(.*):.*")
label_replace(sum by (a) (rate({a="b"}[5m])), "dst", "x", "a", ".*")
label_replace(rate({a="b"}[5m]), "dst", ${BT}$1${BT}, "src", ${BT}(\w+)-\d+${BT})
vector(1)
vector(-1)
vector(0) + 1
vector(1e3)
1e21
0.000001
0x1F + 0XfF
.5 + 5.
-0
3.14159
sum(rate({a="b"}[5m])) by (a) / ignoring(b) group_left sum(rate({a="b"}[5m])) by (a)
topk(3, sum by (path) (rate({app="envoy"} | json | response_code >= 500 [5m])) / sum by (path) (rate({app="envoy"}[5m])))
`);

const MESH = lines(String.raw`
{service_name="frontend"} | json | http_response_status_code >= 500 | line_format "{{.http_request_method}} {{.url_path}} {{.http_response_status_code}}"
{k8s_namespace_name="istio-system", k8s_container_name="istio-proxy"} |= "upstream connect error" | logfmt | response_flags=~"UF|URX"
sum by (upstream_cluster) (rate({app="istio-proxy"} | json | response_code >= 500 [1m]))
quantile_over_time(0.95, {app="istio-proxy"} | json | unwrap duration [5m]) by (destination_service)
sum by (service_name) (bytes_over_time({k8s_namespace_name="prod"}[1h]))
{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"}
{service_name=~"checkout|payment"} |= "trace_id=4bf92f3577b34da6a3ce929d0e0e4736"
{app="envoy"} | pattern ${BT}[<_>] "<method> <path> <_>" <status> <_> <_> <bytes_sent> <duration> <_> "<_>" "<user_agent>" <_>${BT} | status >= 400
avg_over_time({app="envoy"} | pattern "<_> <duration>ms <_>" | unwrap duration [5m]) by (app)
count_over_time({service_name="api"} | json | level="error" [15m]) > 10
sum(count_over_time({service_name="api"} |= "timeout" [5m])) by (k8s_pod_name) / sum(count_over_time({service_name="api"}[5m])) by (k8s_pod_name) > 0.05
{service_name="auth"} | json | user_id != "" | drop password, token | keep user_id, level, msg
sum by (detected_level) (count_over_time({service_name="api"} | logfmt [1m]))
absent_over_time({service_name="heartbeat"}[10m])
sum(rate({service_name="api"}[5m])) by (service_name) unless sum(rate({service_name="api"}[5m] offset 1d)) by (service_name)
`);

/** Queries written over several lines, with comments, to check line and column tracking. */
const MULTI_LINE: string[] = [
  `sum by (host) (rate({job="mysql"}
    |= "error" != "timeout"
    | json
    | duration > 10s [1m]))`,
  `quantile_over_time(0.99,
  {cluster="ops-tools1",container="ingress-nginx"}
    | json
    | __error__ = ""
    | unwrap request_time [1m]) by (path)`,
  `sum by (org_id) (
  sum_over_time(
  {cluster="ops-tools1",container="loki-dev"}
      |= "metrics.go"
      | logfmt
      | unwrap bytes_processed [1m])
  )`,
  `sum(count_over_time({namespace="traefik"}[5m])) # will return nothing
  or
vector(0) # will return 0`,
  `{job_name="myapp"}
\t\t| logfmt
\t\t| addr = ip("192.168.4.5/16")
\t\t| addr != ip("192.168.4.2")`,
  `{job="security"}
    |~ "Invalid user.*"
    | regexp "(^(?P<user>\\\\S+ {1,2}){8})"
    | regexp "(^(?P<ip>\\\\S+ {1,2}){10})"
    | line_format "IP = {{.ip}}\\tUSER = {{.user}}"`,
  `{cluster="ops-tools1", name="querier", namespace="loki-dev"}
  |= "metrics.go" != "loki-canary"
  | logfmt
  | query != ""
  | label_format query="{{ Replace .query \\"\\\\n\\" \\"\\" -1 }}"`,
  `# leading comment
{app="x"} # trailing comment
  | json # parse it
  # a whole-line comment
  | level = "error"`,
  `topk(5,
  sum by (path) (
    rate({app="envoy"}[5m])
  )
)`,
  `{app="x"} |= ${BT}multi
line raw string${BT}`,
  `rate({a="b"}[5m])
  /
on(x) group_left(y)
  rate({c="d"}[5m])`,
  `{a="b"}\r\n| json\r\n| x="y"`,
];

/** Every valid query of the corpus. */
export const VALID_QUERIES: readonly string[] = [
  ...SELECTORS,
  ...LINE_FILTERS,
  ...PARSERS,
  ...LABEL_FILTERS,
  ...FORMATTERS,
  ...RANGE_AGGREGATIONS,
  ...VECTOR_AGGREGATIONS,
  ...BINARY_EXPRESSIONS,
  ...MESH,
  ...MULTI_LINE,
];

export interface InvalidQuery {
  /** The query with `‸` where the error must be reported. */
  query: string;
  /** A substring the error message must contain. */
  message?: string;
}

const invalid = (query: string, message?: string): InvalidQuery => (message === undefined ? { query } : { query, message });

/** Queries that must fail to parse at the `‸` marker. */
export const INVALID_QUERIES: readonly InvalidQuery[] = [
  // Selectors
  invalid('‸', 'unexpected end of input, expected stream selector or metric expression'),
  invalid('   ‸', 'unexpected end of input'),
  invalid('{a="b"‸', 'unexpected end of input, expected "," or "}"'),
  invalid('{app="foo", ‸}', 'unexpected "}", expected label matcher'),
  invalid('{‸="b"}', 'expected label matcher'),
  invalid('{a‸"b"}', 'expected label matching operator'),
  invalid('{a=‸b}', 'unexpected "b", expected string'),
  invalid('{a‸=="b"}', 'unexpected "=="'),
  invalid('{a="b", c‸}', 'expected label matching operator'),
  invalid('{a="b",‸, c="d"}', 'expected label matcher'),
  invalid('{a=‸5}', 'expected string'),
  invalid('{a="b" ‸c="d"}', 'expected "," or "}"'),
  invalid('‸a', 'unexpected "a", expected stream selector or metric expression'),
  invalid('{a="b"}‸}', 'expected pipeline stage or end of input'),
  // Strings and lexing
  invalid('{a=‸"b', 'unterminated string literal'),
  invalid('{a=‸"b\nc"}', 'unterminated string literal'),
  invalid('{a="b‸\\qc"}', 'invalid escape sequence "\\q"'),
  invalid('{a="‸\\x4"}', 'expected 2 hex digits'),
  invalid('{a="‸\\u00"}', 'expected 4 hex digits'),
  invalid('{a="‸\\ud800"}', 'not a valid Unicode code point'),
  invalid('{a="‸\\U00110000"}', 'not a valid Unicode code point'),
  invalid('{a="‸\\400"}', 'invalid octal escape'),
  invalid('{a="‸\\12"}', 'invalid octal escape'),
  invalid('{a="‸\\xff"}', 'invalid UTF-8'),
  invalid("{a=\"‸\\'\"}", 'invalid escape sequence'),
  invalid('{a=‸`unterminated}', 'unterminated raw string literal'),
  invalid('{a="b"} ‸§', 'unexpected character "§"'),
  invalid('{a="b"} ‸!', 'unexpected character "!"'),
  invalid('{a="b"} ‸;', 'unexpected character ";"'),
  invalid('1 + ‸5mb', 'invalid number, duration or bytes literal "5mb"'),
  invalid('1 + ‸0x1g', 'invalid number "0x1g"'),
  invalid('1 + ‸1e999', 'out of range'),
  invalid('1 + ‸5m', 'unexpected "5m"'),
  invalid('1 + ‸"x"', 'unexpected string "x"'),
  invalid('{a="b"} ‸.', 'unexpected "."'),
  // Line filters
  invalid('{a="b"} |= ‸', 'unexpected end of input, expected string or ip("...")'),
  invalid('{a="b"} |= ‸x', 'expected string or ip("...")'),
  invalid('{a="b"} ‸|> "x"', 'pattern line filters (|>) are not supported'),
  invalid('{a="b"} ‸!> "x"', 'pattern line filters (!>) are not supported'),
  invalid('{a="b"} |= "a" or ‸', 'expected string or ip("...")'),
  invalid('{a="b"} |= ip(‸x)', 'expected IP address, range or CIDR string'),
  invalid('{a="b"} |= ip("x"‸', 'expected ")"'),
  invalid('{a="b"} |= "x" ‸]', 'expected pipeline stage or end of input'),
  invalid('{a="b"}‸[5m]', 'expected pipeline stage or end of input'),
  // Pipeline stages
  invalid('{a="b"} |‸', 'unexpected end of input, expected parser, formatter or label filter after "|"'),
  invalid('{a="b"} | ‸5', 'expected parser, formatter or label filter'),
  invalid('{a="b"} | ‸"x"', 'expected parser, formatter or label filter'),
  invalid('{a="b"} | ‸)', 'expected parser, formatter or label filter'),
  invalid('{a="b"} | json =‸', 'expected string, number, duration, bytes or ip("...")'),
  invalid('{a="b"} | logfmt ‸--bogus', 'unknown logfmt flag "--bogus"'),
  invalid('{a="b"} | regexp ‸', 'expected regular expression string'),
  invalid('{a="b"} | pattern ‸5', 'expected pattern string'),
  invalid('{a="b"} | line_format ‸x', 'expected template string'),
  invalid('{a="b"} | label_format a‸', 'expected "="'),
  invalid('{a="b"} | label_format a=‸5', 'expected label name or template string'),
  invalid('{a="b"} | label_format a=b,‸', 'expected label name'),
  invalid('{a="b"} | drop ‸', 'expected label name'),
  invalid('{a="b"} | drop a,‸', 'expected label name'),
  invalid('{a="b"} | keep a=‸1', 'expected string'),
  invalid('{a="b"} | json a=‸b', 'expected quoted expression'),
  invalid('{a="b"} | json a,‸', 'expected label name'),
  invalid('{a="b"} | ‸unwrap x', 'unwrap is only allowed inside a range aggregation'),
  // Label filters
  invalid('{a="b"} | a > ‸"x"', 'unexpected string "x", expected number, duration or bytes value after >'),
  invalid('{a="b"} | a =~ ‸5', 'expected string'),
  invalid('{a="b"} | a ‸5', 'expected comparison operator'),
  invalid('{a="b"} | a = ‸', 'expected string, number, duration, bytes or ip("...")'),
  invalid('{a="b"} | (a="b" ‸', 'expected "and", "or" or ")"'),
  invalid('{a="b"} | a ‸=~ ip("x")', 'ip() label filters support only = and !='),
  invalid('{a="b"} | a > -‸5KB', 'expected number, duration or bytes value'),
  invalid('{a="b"} | a > 5 and‸', 'expected label filter'),
  invalid('{a="b"} | a > 5 or ‸)', 'expected label filter'),
  invalid('{a="b"} | a > 5 offset ‸1h', 'expected comparison operator'),
  // Range aggregations
  invalid('rate(‸)', 'expected stream selector'),
  invalid('rate({a="b"}‸)', 'expected "|" or range such as [5m]'),
  invalid('rate({a="b"} | json‸)', 'expected pipeline stage or range such as [5m]'),
  invalid('rate({a="b"}‸[5x])', 'invalid range "5x"'),
  invalid('rate({a="b"}‸[1.5m])', 'invalid range "1.5m"'),
  invalid('rate({a="b"}‸[5m)', 'missing closing "]"'),
  invalid('rate({a="b"}[5m] offset ‸)', 'expected duration after offset'),
  invalid('rate({a="b"}[5m] offset ‸5)', 'expected duration after offset'),
  invalid('rate({a="b"}[5m] offset -‸x)', 'expected duration after offset'),
  invalid('rate({a="b"}[5m]‸', 'expected ")"'),
  invalid('rate({a="b"}[5m]) by ‸a', 'expected "("'),
  invalid('rate({a="b"}[5m]) by (a,‸)', 'expected label name'),
  invalid('rate ‸{a="b"}[5m]', 'expected "(" after rate'),
  invalid('rate({a="b"}[5m]) ‸offset 5m', 'expected binary operator or end of input'),
  invalid('count_over_time({a="b"}‸', 'expected "|" or range such as [5m]'),
  invalid('count_over_time({a="b"}[5m] | json ‸[5m])', 'expected ")"'),
  invalid('sum_over_time({a="b"} | unwrap x | ‸json [5m])', 'only label filters may follow unwrap'),
  invalid('sum_over_time({a="b"} | unwrap x ‸|= "y" [5m])', 'only label filters may follow unwrap'),
  invalid('sum_over_time({a="b"} | unwrap x | ‸unwrap y [5m])', 'only label filters may follow unwrap'),
  invalid('sum_over_time({a="b"} | unwrap ‸[5m])', 'expected label name or conversion function after unwrap'),
  invalid('sum_over_time({a="b"} | unwrap bytes(‸) [5m])', 'expected label name'),
  invalid('sum_over_time({a="b"} | unwrap bytes(x ‸[5m])', 'expected ")"'),
  invalid('quantile_over_time(0.9,‸)', 'expected stream selector'),
  invalid('count_over_time(({a="b"}‸', 'expected pipeline stage, range such as [5m] or ")"'),
  invalid('count_over_time(({a="b"})‸', 'expected "|" or range such as [5m]'),
  // Vector aggregations, binary operations, functions
  invalid('sum‸', 'expected "(", "by" or "without" after sum'),
  invalid('sum(‸)', 'expected stream selector or metric expression'),
  invalid('sum(‸{a="b"})', 'unexpected log query, expected a metric expression'),
  invalid('sum by (a) (rate({a="b"}[5m])) ‸by (b)', 'already has a grouping'),
  invalid('sum by (a) (rate({a="b"}[5m])) ‸without (b)', 'already has a grouping'),
  invalid('sum by (a) ‸rate({a="b"}[5m])', 'expected "("'),
  invalid('sum(rate({a="b"}[5m])) by (a ‸b)', 'expected "," or ")"'),
  invalid('topk(‸,rate({a="b"}[5m]))', 'expected stream selector or metric expression'),
  invalid('topk(5, ‸)', 'expected stream selector or metric expression'),
  invalid('1 +‸', 'unexpected end of input, expected stream selector or metric expression'),
  invalid('1 + ‸{a="b"}', 'unexpected log query'),
  invalid('{a="b"} ‸+ 1', 'after a log query'),
  invalid('1 + on ‸x 2', 'expected "("'),
  invalid('1 + on(‸1) 2', 'expected label name'),
  invalid('1 ‸bool 2', 'expected binary operator or end of input'),
  invalid('1 + ‸group_left 2', 'expected stream selector or metric expression'),
  invalid('1 * on(a) group_left(‸"x") 2', 'expected label name'),
  invalid('-‸{a="b"}', 'expected number after unary "-"'),
  invalid('-‸vector(1)', 'expected number after unary "-"'),
  invalid('vector(‸)', 'expected number'),
  invalid('vector(1‸', 'expected ")"'),
  invalid('vector‸', 'expected "(" after vector'),
  invalid('label_replace(rate({a="b"}[1m]), "a", "b", "c"‸)', 'expected ","'),
  invalid('label_replace(rate({a="b"}[1m]), ‸a, "b", "c", "d")', 'expected destination label string'),
  invalid('(1 + 2‸', 'expected binary operator or ")"'),
  invalid('1 + 2‸)', 'expected binary operator or end of input'),
  invalid('(‸)', 'expected stream selector or metric expression'),
  invalid('({a="b"}‸', 'expected pipeline stage or ")"'),
  invalid('sum(rate({a="b"}[5m]) ‸foo)', 'expected binary operator or ")"'),
  // Several lines: the position must count lines and columns.
  invalid('{app="x"}\n  | json\n  | ‸', 'expected parser, formatter or label filter'),
  invalid('count_over_time(\n  {app="x"}\n    |= "a"\n    ‸[5x]\n)', 'invalid range'),
  invalid('sum(\n  rate({a="b"}[5m])\n‸', 'expected binary operator or ")"'),
  invalid('{a="b"} # comment\n| # only a comment‸', 'unexpected end of input'),
  invalid('{a="b"}\n\t|= "x"\n\t| logfmt --strict ‸--what', 'unknown logfmt flag'),
  invalid('sum by (host) (rate({job="mysql"}\n    |= "error" != "timeout"\n    | json\n    | duration > ‸"10s" [1m]))', 'expected number, duration or bytes value'),
  invalid('{a="b"}\n|= `one\ntwo`\n| ‸?', 'unexpected character "?"'),
  invalid('topk(5,\n  sum by (path) (\n    rate({app="envoy"}[5m]\n  )\n‸', 'binary operator or ")"'),
  invalid('{a="b"}\r\n| json\r\n| x=\r\n‸', 'expected string, number'),
];
