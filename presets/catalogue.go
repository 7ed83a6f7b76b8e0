package presets

// Sources, one constant per vendor page, so each is written once.
const (
	nginxUpstream = "https://nginx.org/en/docs/http/ngx_http_upstream_module.html"
	nginxChanges  = "https://nginx.org/en/CHANGES"
	nginxProxy    = "https://nginx.org/en/docs/http/ngx_http_proxy_module.html"
	nginxRRSource = "https://github.com/nginx/nginx/blob/master/src/http/ngx_http_upstream_round_robin.c"
	nginxUpSource = "https://github.com/nginx/nginx/blob/master/src/http/ngx_http_upstream.c"
	nginxLimitReq = "https://nginx.org/en/docs/http/ngx_http_limit_req_module.html"

	haproxyManual   = "https://docs.haproxy.org/3.3/configuration.html"
	haproxyDefaults = "https://github.com/haproxy/haproxy/blob/master/include/haproxy/defaults.h"
	haproxyRandom   = "https://github.com/haproxy/haproxy/commit/93cc18ac4286f0e0d5f870591d06c50228d128ac"
	haproxyRetry    = "https://github.com/haproxy/haproxy/blob/master/src/backend.c"
	haproxyChecks   = "https://github.com/haproxy/haproxy/blob/master/src/check.c"
	haproxyAbort    = "https://github.com/haproxy/haproxy/commit/644b3dc7d"

	envoyCluster = "https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/cluster.proto"
	envoyRoute   = "https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto"
	envoyLB      = "https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers"
	envoyPanic   = "https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/panic_threshold"

	albTargetGroups = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html"
	albHealth       = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html"
	albAttributes   = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html"
	elbRouting      = "https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/how-elastic-load-balancing-works.html"
	nlbHealth       = "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-checks.html"

	f5Methods  = "https://techdocs.f5.com/kb/en-us/products/big-ip_ltm/manuals/product/ltm-concepts-11-5-0/5.html"
	f5Monitors = "https://techdocs.f5.com/en-us/bigip-16-0-0/big-ip-local-traffic-manager-monitors-reference/monitors-settings-reference.html"

	ipvsadm = "https://manpages.debian.org/bookworm/ipvsadm/ipvsadm.8.en.html"

	traefikLB = "https://doc.traefik.io/traefik/reference/routing-configuration/http/load-balancing/service/"
	caddyRP   = "https://caddyserver.com/docs/caddyfile/directives/reverse_proxy"
	linkerdLB = "https://linkerd.io/2/features/load-balancing/"
	grpcLB    = "https://github.com/grpc/grpc/blob/master/doc/load-balancing.md"
	grpcA48   = "https://github.com/grpc/proposal/blob/master/A48-xds-least-request-lb-policy.md"

	kongUpstream  = "https://developer.konghq.com/gateway/entities/upstream/"
	kongService   = "https://developer.konghq.com/gateway/entities/service/"
	kongRateLimit = "https://developer.konghq.com/plugins/rate-limiting/"

	apisixUpstream = "https://apisix.apache.org/docs/apisix/admin-api/#upstream"
	apisixCount    = "https://apisix.apache.org/docs/apisix/plugins/limit-count/"

	tykLB        = "https://tyk.io/docs/planning-for-production/ensure-high-availability/load-balancing/"
	tykRateLimit = "https://tyk.io/docs/api-management/rate-limit/"

	apigeeLB       = "https://cloud.google.com/apigee/docs/api-platform/deploy/load-balancing-across-backend-servers"
	apigeeMaxFails = "https://cloud.google.com/apigee/docs/api-platform/antipatterns/load-balancing-maxfailures"
	apigeeEndpoint = "https://cloud.google.com/apigee/docs/api-platform/reference/endpoint-properties-reference"
	apigeeSpike    = "https://cloud.google.com/apigee/docs/api-platform/reference/policies/spike-arrest-policy"

	apigwThrottle = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html"
	apigwQuotas   = "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"
	apigwCache    = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html"

	espv2Deadline = "https://github.com/GoogleCloudPlatform/esp-v2/blob/master/src/go/util/constants.go"
	gcpBackend    = "https://cloud.google.com/endpoints/docs/openapi/openapi-extensions#x-google-backend"
	gcpQuotas     = "https://cloud.google.com/endpoints/docs/openapi/quotas-overview"

	zuulOrigin  = "https://github.com/Netflix/zuul/blob/master/zuul-core/src/main/java/com/netflix/zuul/origins/BasicNettyOrigin.java"
	ribbonRules = "https://github.com/Netflix/ribbon/blob/master/ribbon-loadbalancer/src/main/java/com/netflix/loadbalancer/AvailabilityFilteringRule.java"
)

// Keys the presets set, written once.
const (
	kStrategy     = "balancer.strategy"
	kPassive      = "balancer.health.passive."
	kActive       = "balancer.health.active."
	kAllDown      = "balancer.health.when_all_unhealthy"
	kPanic        = "balancer.health.panic_threshold"
	kRetries      = "clients.retries."
	kTimeout      = "clients.timeout"
	kLimitStages  = "gateway.stages[type=ratelimit]."
	kAddLimit     = "gateway.stages[type=ratelimit]+"
	kCacheStages  = "gateway.stages[type=cache]."
	connectOrTime = "[connect_failure, timeout]"
)

// unlessPanic leaves when_all_unhealthy out when the user chose a panic
// threshold (the two set the same thing).
var unlessPanic = []string{kPanic}

// The order is the order of `edgelab presets` within a tier.
var catalogue = []*System{nginx, haproxy, envoy, awsALB, awsNLB, f5, ipvs, traefik, caddy, linkerd, grpc,
	kong, apisix, tyk, apigee, awsAPIGateway, gcpAPIGateway, zuul}

var nginx = &System{
	Name: "nginx", Title: "NGINX (open source)", Tier: Balancer, Oldest: "1.12", Newest: "1.31",
	Settings: []Setting{
		{Key: kStrategy, Value: "round_robin", Vendor: "no method directive: weighted round robin", Source: nginxUpstream},
		{Key: kPassive + "max_fails", Value: "1", Vendor: "max_fails=1", Source: nginxUpstream + "#max_fails"},
		{Key: kPassive + "fail_timeout", Value: "10s", Vendor: "fail_timeout=10s", Source: nginxUpstream + "#fail_timeout"},
		{Key: kPassive + "on", Value: connectOrTime, Vendor: "proxy_next_upstream error timeout", Source: nginxProxy + "#proxy_next_upstream",
			Note: "errors, resets and timeouts count; 5xx answers only when http_5xx is listed"},
		{Key: "balancer.ignore_client_abort", Value: "false", Vendor: "proxy_ignore_client_abort off", Source: nginxProxy + "#proxy_ignore_client_abort"},
		{Key: kAllDown, Value: "reject", Vendor: "no live upstreams: 502", Source: nginxUpSource, Unless: unlessPanic,
			Note: "ngx_http_upstream_connect answers 502 when the round robin finds no peer (NGX_BUSY); no reset of fail counts since 1.11.5"},
		{Key: kRetries + "max", Value: "10", Vendor: "proxy_next_upstream_tries 0 (no limit)", Source: nginxProxy + "#proxy_next_upstream_tries",
			Note: "NGINX tries each server at most once; edgelab caps a request at 10 retries, the same for groups of up to 11 servers"},
		{Key: kRetries + "once_per_host", Value: "true", Vendor: "the tried bitmap: never the same server twice", Source: nginxRRSource},
		{Key: kRetries + "timeout", Value: "0", Vendor: "proxy_next_upstream_timeout 0 (no limit)", Source: nginxProxy + "#proxy_next_upstream_timeout"},
		{Key: kRetries + "backoff", Value: "0", Vendor: "the next server at once", Source: nginxProxy + "#proxy_next_upstream"},
		{Key: kRetries + "on", Value: connectOrTime, Vendor: "proxy_next_upstream error timeout", Source: nginxProxy + "#proxy_next_upstream"},
		{Key: kRetries + "per_try_timeout", Value: "60s", Vendor: "proxy_read_timeout 60s", Source: nginxProxy + "#proxy_read_timeout",
			Note: "NGINX times the gap between two reads; edgelab times the whole answer"},
		{Key: kLimitStages + "algorithm", Value: "leaky-bucket", Vendor: "limit_req: a leaky bucket, burst=0, excess delayed", Source: nginxLimitReq,
			Note: "for ratelimit stages the scenario writes (NGINX as the gateway tier)"},
		{Key: "balancer.upstream.keepalive", Value: "0", Vendor: "no keepalive directive: a new connection to the server for every request", Source: nginxUpstream + "#keepalive", Until: "1.29.6",
			Note: "each attempt opens a connection; it costs what balancer.upstream.connect says (0 unless written)"},
		{Key: "balancer.upstream.keepalive", Value: "32", Vendor: "keepalive 32 local, the default since 1.29.7", Source: nginxChanges, Since: "1.29.7",
			Note: "NGINX keeps 32 idle connections per worker; edgelab per gateway instance (or balancer); it matters when balancer.upstream.connect has a cost"},
	},
	Algorithms: []Algorithm{
		{Name: "round_robin", Strategy: "weighted-round-robin", Source: nginxRRSource, Note: "smooth weighted round robin (ngx_http_upstream_get_peer)"},
		{Name: "least_conn", Strategy: "least-request", Source: nginxUpstream + "#least_conn", Note: "NGINX breaks ties by weighted round robin, edgelab at random"},
		{Name: "ip_hash", Strategy: "ip-hash", Source: nginxUpstream + "#ip_hash", Note: "NGINX hashes the first three octets of an IPv4 address; edgelab the client's identity"},
		{Name: "hash consistent", Strategy: "ring-hash", Params: map[string]float64{"vnodes": 160}, Source: nginxUpstream + "#hash", Note: "ketama, 160 points per server"},
		{Name: "random", Strategy: "weighted-random", Source: nginxUpstream + "#random", Since: "1.15.1"},
		{Name: "random two", Strategy: "p2c", Params: map[string]float64{"choices": 2, "distinct": 1}, Source: nginxUpstream + "#random", Since: "1.15.1",
			Note: "two distinct servers, fewer active connections wins (least_conn is the default method)"},
		{Name: "random two least_conn", Strategy: "p2c", Params: map[string]float64{"choices": 2, "distinct": 1}, Source: nginxUpstream + "#random", Since: "1.15.1"},
		{Name: "least_time", Strategy: "least-time", Source: nginxUpstream + "#least_time", Since: "1.31",
			Note: "open source since 1.31.0 (NGINX Plus before); edgelab's is least_time last_byte inflight"},
	},
	Gaps: []string{
		"Per-worker state: without a `zone`, each worker process keeps its own fail counts and round-robin position; edgelab models one worker (`worker_processes 1`, or a `zone`).",
		"Upstream keepalive (`keepalive 32 local` and HTTP/1.1 by default since 1.29.7): edgelab has no connections yet, so the versions agree in the model.",
		"`proxy_connect_timeout` (60 s) is not modelled: a refused connection fails at once in both, and edgelab's backends never leave a connection unanswered.",
		"A failed cached keepalive connection does not use up a try in NGINX; edgelab has no connection cache.",
		"`hash $key` without `consistent` (key modulo the servers) has no catalogue strategy.",
	},
}

var haproxy = &System{
	Name: "haproxy", Title: "HAProxy", Tier: Balancer, Oldest: "2.0", Newest: "3.3",
	Settings: []Setting{
		{Key: kStrategy, Value: "roundrobin", Vendor: "no balance line: roundrobin", Source: haproxyManual + "#4.2-balance", Until: "3.2"},
		{Key: kStrategy, Value: "random", Vendor: "no balance line: random (2 draws)", Source: haproxyRandom, Since: "3.3",
			Note: "MAJOR: backend: switch the default balancing algo to \"random\" (3.3)"},
		{Key: kActive + "interval", Value: "2s", Vendor: "check inter 2000 (DEF_CHKINTR)", Source: haproxyDefaults,
			Note: "a server line with `check`; without it HAProxy does no health checks (write active: null)"},
		{Key: kActive + "timeout", Value: "2s", Vendor: "no timeout check: inter", Source: haproxyManual + "#4.2-timeout%20check"},
		{Key: kActive + "healthy", Value: "2", Vendor: "rise 2 (DEF_RISETIME)", Source: haproxyDefaults},
		{Key: kActive + "unhealthy", Value: "3", Vendor: "fall 3 (DEF_FALLTIME)", Source: haproxyDefaults},
		{Key: kActive + "first_unhealthy", Value: "1", Vendor: "a server starts at health = rise: one failed check marks it DOWN", Source: haproxyChecks,
			Note: "fall applies once a check has passed"},
		{Key: kAllDown, Value: "reject", Vendor: "503 when no server is available", Source: haproxyManual + "#1.3.1", Unless: unlessPanic},
		{Key: "balancer.ignore_client_abort", Value: "true", Vendor: "no option abortonclose: a request whose client left is still retried and served", Source: haproxyManual + "#4.2-option%20abortonclose", Until: "3.2"},
		{Key: "balancer.ignore_client_abort", Value: "false", Vendor: "option abortonclose, the default in HTTP backends since 3.3", Source: haproxyAbort, Since: "3.3"},
		{Key: kRetries + "max", Value: "3", Vendor: "retries 3 (CONN_RETRIES)", Source: haproxyManual + "#4.2-retries"},
		{Key: kRetries + "on", Value: "[connect_failure]", Vendor: "retry-on conn-failure", Source: haproxyManual + "#4.2-retry-on"},
		{Key: kRetries + "same_host", Value: "true", Vendor: "a retry goes to the same server", Source: haproxyManual + "#4.2-retries"},
		{Key: kRetries + "turnaround", Value: "1s", Vendor: "min(timeout connect, 1s) before a retry on the same server", Source: haproxyRetry,
			Note: "back_handle_st_cer: only when the retry stays on the same server"},
		{Key: kRetries + "redispatch", Value: "0", Vendor: "option redispatch off", Source: haproxyManual + "#4.2-option%20redispatch",
			Note: "`option redispatch` is redispatch: -1 (the last retry); with a non-hash algorithm and more than one server HAProxy then redispatches every retry at once (stream_choose_redispatch)"},
	},
	Algorithms: []Algorithm{
		{Name: "roundrobin", Strategy: "weighted-round-robin", Source: haproxyManual + "#4.2-balance", Note: "HAProxy's dynamic weighted round robin; edgelab's is NGINX's smooth one (same shares)"},
		{Name: "static-rr", Strategy: "weighted-round-robin", Source: haproxyManual + "#4.2-balance"},
		{Name: "leastconn", Strategy: "least-request", Source: haproxyManual + "#4.2-balance", Note: "HAProxy breaks ties by round robin and counts queued connections, edgelab breaks ties at random"},
		{Name: "first", Strategy: "first", Source: haproxyManual + "#4.2-balance", Note: "set balancer.params.first.maxconn to the servers' maxconn"},
		{Name: "random", Strategy: "p2c", Params: map[string]float64{"choices": 2, "distinct": 0}, Source: haproxyManual + "#4.2-balance",
			Note: "random(2): two draws with replacement (get_server_rnd); random(<n>) takes n draws, random(1) is weighted random"},
		{Name: "source", Strategy: "ip-hash", Source: haproxyManual + "#4.2-balance", Note: "map-based hash of the client address"},
	},
	Gaps: []string{
		"The first checks are staggered by server position (src/check.c start_checks), as edgelab's probes are; `spread-checks` (randomized) and `fastinter`/`downinter` (another interval during transitions) are not modelled.",
		"Server `maxconn` with its queue and `timeout queue` is not modelled per server.",
		"`balance uri`, `hdr`, `url_param` (map-based hash of a key) have no catalogue strategy.",
		"HAProxy 3.4's tie-break of `random` by request rate is not modelled.",
		"Behind the real HAProxy, edgelab's backends cannot count connections refused while crashed; the simulation counts those attempts in servers[].requests.",
	},
}

var envoy = &System{
	Name: "envoy", Title: "Envoy", Tier: Balancer,
	Settings: []Setting{
		{Key: kStrategy, Value: "ROUND_ROBIN", Vendor: "lb_policy: ROUND_ROBIN (0)", Source: envoyCluster},
		{Key: kPanic, Value: "50", Vendor: "healthy_panic_threshold: 50%", Source: envoyPanic, Unless: []string{kAllDown},
			Note: "applies once health checking or outlier detection is configured"},
		{Key: kTimeout, Value: "15s", Vendor: "route timeout: 15s, retries included", Source: envoyRoute,
			Note: "Envoy answers 504 at 15 s; edgelab counts the request as timed out then"},
		{Key: kRetries + "max", Value: "0", Vendor: "no retry_policy: no retries", Source: envoyRoute,
			Note: "a retry_policy without num_retries retries once; backoff 25 ms to 250 ms is edgelab's default"},
	},
	Algorithms: []Algorithm{
		{Name: "ROUND_ROBIN", Strategy: "weighted-round-robin", Source: envoyLB, Note: "Envoy's weighted schedule is EDF; equal weights give plain round robin"},
		{Name: "LEAST_REQUEST", Strategy: "p2c", Params: map[string]float64{"choices": 2, "distinct": 0}, Source: envoyLB,
			Note: "choice_count 2, drawn with replacement; with unequal weights Envoy uses weight/(active+1)^bias instead"},
		{Name: "RANDOM", Strategy: "random", Source: envoyLB},
		{Name: "RING_HASH", Strategy: "ring-hash", Source: envoyCluster, Note: "Envoy's ring has at least 1024 entries in all; edgelab's vnodes are per endpoint"},
		{Name: "MAGLEV", Strategy: "maglev", Params: map[string]float64{"table_size": 65537}, Source: envoyCluster},
		{Name: "CLIENT_SIDE_WEIGHTED_ROUND_ROBIN", Strategy: "orca-wrr", Source: envoyLB},
	},
	Gaps: []string{
		"Circuit breakers (max_connections, max_pending_requests, max_requests 1024; max_retries 3) are not modelled.",
		"Outlier detection is off unless configured; when configured, edgelab's balancer.health.outlier has Envoy's defaults (consecutive_5xx 5, base_ejection 30s, 10%).",
		"Envoy's defaults do not depend on its version here; a version is recorded, not interpreted.",
	},
}

var awsALB = &System{
	Name: "aws-alb", Title: "AWS Application Load Balancer", Tier: Balancer,
	Settings: []Setting{
		{Key: kStrategy, Value: "round_robin", Vendor: "load_balancing.algorithm.type: round_robin", Source: albTargetGroups},
		{Key: kActive + "interval", Value: "30s", Vendor: "HealthCheckIntervalSeconds 30", Source: albHealth},
		{Key: kActive + "timeout", Value: "5s", Vendor: "HealthCheckTimeoutSeconds 5", Source: albHealth},
		{Key: kActive + "healthy", Value: "5", Vendor: "HealthyThresholdCount 5", Source: albHealth},
		{Key: kActive + "unhealthy", Value: "2", Vendor: "UnhealthyThresholdCount 2", Source: albHealth},
		{Key: kAllDown, Value: "fail_open", Vendor: "only unhealthy targets: route to all of them", Source: albHealth, Unless: unlessPanic},
		{Key: kRetries + "max", Value: "0", Vendor: "no retries to targets", Source: albTargetGroups},
		{Key: kTimeout, Value: "60s", Vendor: "idle_timeout.timeout_seconds 60", Source: albAttributes,
			Note: "the ALB answers 504 after 60 s without data; edgelab times the whole answer"},
	},
	Algorithms: []Algorithm{
		{Name: "round_robin", Strategy: "round-robin", Source: albTargetGroups},
		{Name: "least_outstanding_requests", Strategy: "least-request", Source: albTargetGroups},
		{Name: "weighted_random", Strategy: "weighted-random", Source: albTargetGroups, Note: "automatic target weights (anomaly mitigation) are not modelled: AWS publishes no formula"},
	},
	Gaps: []string{
		"Each ALB node balances on its own; edgelab models one node.",
		"Slow start (30–900 s, off by default) is balancer.health.slow_start.",
	},
}

var awsNLB = &System{
	Name: "aws-nlb", Title: "AWS Network Load Balancer", Tier: Balancer,
	Settings: []Setting{
		{Key: kStrategy, Value: "flow_hash", Vendor: "flow hash of protocol, addresses, ports and TCP sequence number", Source: elbRouting,
			Note: "each new connection lands on a target at random; edgelab has no connections yet, so each request does"},
		{Key: kActive + "interval", Value: "30s", Vendor: "HealthCheckIntervalSeconds 30", Source: nlbHealth},
		{Key: kActive + "timeout", Value: "10s", Vendor: "HealthCheckTimeoutSeconds 10 (TCP)", Source: nlbHealth},
		{Key: kActive + "healthy", Value: "5", Vendor: "HealthyThresholdCount 5", Source: nlbHealth},
		{Key: kActive + "unhealthy", Value: "2", Vendor: "UnhealthyThresholdCount 2", Source: nlbHealth},
		{Key: kAllDown, Value: "fail_open", Vendor: "no healthy target: route to all", Source: nlbHealth, Unless: unlessPanic},
		{Key: kRetries + "max", Value: "0", Vendor: "a layer-4 balancer does not retry", Source: elbRouting},
	},
	Algorithms: []Algorithm{
		{Name: "flow_hash", Strategy: "random", Source: elbRouting},
	},
	Gaps: []string{
		"Cross-zone balancing is off by default for an NLB; edgelab has one zone.",
		"Connections are pinned to a target for their life; until edgelab models connections, requests are spread one by one.",
	},
}

var f5 = &System{
	Name: "f5", Title: "F5 BIG-IP LTM", Tier: Balancer,
	Settings: []Setting{
		{Key: kStrategy, Value: "round-robin", Vendor: "load-balancing-mode round-robin", Source: f5Methods},
		{Key: kActive + "interval", Value: "5s", Vendor: "http monitor interval 5", Source: f5Monitors},
		{Key: kActive + "timeout", Value: "5s", Vendor: "http monitor timeout 16 (3 × interval + 1)", Source: f5Monitors,
			Note: "F5 marks a member down when no probe succeeded for 16 s; edgelab's 3 failed probes 5 s apart come close"},
		{Key: kActive + "unhealthy", Value: "3", Vendor: "timeout 16 s = 3 missed intervals", Source: f5Monitors},
		{Key: kActive + "healthy", Value: "1", Vendor: "time-until-up 0: one good probe", Source: f5Monitors},
		{Key: kAllDown, Value: "reject", Vendor: "no member available: the connection is reset", Source: f5Methods, Unless: unlessPanic},
	},
	Algorithms: []Algorithm{
		{Name: "round-robin", Strategy: "round-robin", Source: f5Methods},
		{Name: "ratio-member", Strategy: "weighted-round-robin", Source: f5Methods},
		{Name: "least-connections-member", Strategy: "least-request", Source: f5Methods},
		{Name: "fastest-node", Strategy: "least-request", Source: f5Methods, Note: "fewest outstanding layer-7 requests"},
		{Name: "observed-member", Strategy: "least-request", Source: f5Methods,
			Note: "approximation: Observed re-weights members every second from their connection counts; F5 publishes no formula"},
		{Name: "predictive-member", Strategy: "least-time", Source: f5Methods,
			Note: "approximation: Predictive favours members whose counts are improving; F5 publishes no formula"},
	},
	Gaps: []string{
		"Observed and Predictive are approximations (see the algorithm notes).",
		"Priority-group activation is not modelled.",
	},
}

var ipvs = &System{
	Name: "ipvs", Title: "Linux IPVS (LVS)", Tier: Balancer,
	Settings: []Setting{
		{Key: kStrategy, Value: "wlc", Vendor: "scheduler wlc (the ipvsadm default)", Source: ipvsadm},
		{Key: kRetries + "max", Value: "0", Vendor: "a layer-4 balancer does not retry", Source: ipvsadm},
	},
	Algorithms: []Algorithm{
		{Name: "wlc", Strategy: "least-request", Source: ipvsadm, Note: "IPVS weighs active connections 256:1 against inactive ones, per weight"},
		{Name: "lc", Strategy: "least-request", Source: ipvsadm},
		{Name: "rr", Strategy: "round-robin", Source: ipvsadm},
		{Name: "wrr", Strategy: "weighted-round-robin", Source: ipvsadm, Note: "IPVS steps by the weights' gcd; same shares, another order"},
		{Name: "sh", Strategy: "ip-hash", Source: ipvsadm},
		{Name: "mh", Strategy: "maglev", Params: map[string]float64{"table_size": 4093}, Source: ipvsadm},
		{Name: "twos", Strategy: "p2c", Source: ipvsadm},
	},
	Gaps: []string{
		"IPVS has no health checks (keepalived adds them); a dead real server keeps its share until removed.",
		"IPVS places connections, not requests.",
	},
}

var traefik = &System{
	Name: "traefik", Title: "Traefik", Tier: Balancer,
	Settings: []Setting{
		{Key: kStrategy, Value: "wrr", Vendor: "loadBalancer.strategy: wrr", Source: traefikLB},
	},
	Algorithms: []Algorithm{
		{Name: "wrr", Strategy: "weighted-round-robin", Source: traefikLB, Note: "Traefik's weighted schedule is EDF"},
		{Name: "p2c", Strategy: "p2c", Source: traefikLB},
		{Name: "hrw", Strategy: "rendezvous", Source: traefikLB, Note: "by client address in Traefik, by request key in edgelab"},
		{Name: "leasttime", Strategy: "least-time", Source: traefikLB},
	},
	Gaps: []string{"Health checks and the retry middleware are off unless configured."},
}

var caddy = &System{
	Name: "caddy", Title: "Caddy", Tier: Balancer,
	Settings: []Setting{
		{Key: kStrategy, Value: "random", Vendor: "lb_policy random", Source: caddyRP},
		{Key: kRetries + "max", Value: "0", Vendor: "lb_retries 0, lb_try_duration 0", Source: caddyRP},
	},
	Algorithms: []Algorithm{
		{Name: "random", Strategy: "random", Source: caddyRP},
		{Name: "round_robin", Strategy: "round-robin", Params: map[string]float64{"offset": 1}, Source: caddyRP,
			Note: "Caddy starts at its second upstream (RoundRobinSelection adds 1 before it picks)"},
		{Name: "weighted_round_robin", Strategy: "weighted-round-robin", Source: caddyRP},
		{Name: "least_conn", Strategy: "least-request", Source: caddyRP},
		{Name: "random_choose", Strategy: "p2c", Source: caddyRP},
		{Name: "first", Strategy: "first", Params: map[string]float64{"maxconn": 1e6}, Source: caddyRP, Note: "the first available upstream"},
	},
	Gaps: []string{
		"Active health checks (health_uri, 30 s) and passive ones (fail_duration) are off by default.",
	},
}

var linkerd = &System{
	Name: "linkerd", Title: "Linkerd 2", Tier: Balancer,
	Settings: []Setting{
		{Key: kStrategy, Value: "ewma", Vendor: "EWMA power of two choices (peak EWMA, tower-balance)", Source: linkerdLB},
	},
	Algorithms: []Algorithm{
		{Name: "ewma", Strategy: "peak-ewma", Params: map[string]float64{"decay": 10}, Source: linkerdLB},
	},
	Gaps: []string{"Linkerd balances TCP per connection; edgelab per request, as Linkerd does for HTTP and gRPC."},
}

var grpc = &System{
	Name: "grpc", Title: "gRPC client-side balancing", Tier: Balancer,
	Settings: []Setting{
		{Key: kStrategy, Value: "pick_first", Vendor: "loadBalancingConfig: pick_first (the default)", Source: grpcLB},
		{Key: kRetries + "max", Value: "0", Vendor: "no retryPolicy in the service config", Source: grpcLB},
	},
	Algorithms: []Algorithm{
		{Name: "pick_first", Strategy: "first", Params: map[string]float64{"maxconn": 1e6}, Source: grpcLB, Note: "every request to the first reachable address"},
		{Name: "round_robin", Strategy: "round-robin", Source: grpcLB},
		{Name: "weighted_round_robin", Strategy: "orca-wrr", Source: grpcLB},
		{Name: "least_request", Strategy: "p2c", Params: map[string]float64{"choices": 2}, Source: grpcA48},
		{Name: "ring_hash", Strategy: "ring-hash", Source: grpcLB},
	},
}

var kong = &System{
	Name: "kong", Title: "Kong Gateway", Tier: Gateway,
	Settings: []Setting{
		{Key: kStrategy, Value: "round-robin", Vendor: "upstream algorithm: round-robin", Source: kongUpstream},
		{Key: kRetries + "max", Value: "5", Vendor: "service retries: 5", Source: kongService},
		{Key: kRetries + "on", Value: connectOrTime, Vendor: "NGINX's proxy_next_upstream error timeout", Source: kongService},
		{Key: kRetries + "backoff", Value: "0", Vendor: "the next target at once", Source: kongService},
		{Key: kRetries + "per_try_timeout", Value: "60s", Vendor: "read_timeout: 60000", Source: kongService},
		{Key: kLimitStages + "algorithm", Value: "fixed-window", Vendor: "rate-limiting: fixed, calendar-aligned windows", Source: kongRateLimit},
		{Key: kLimitStages + "per", Value: "client", Vendor: "limit_by: consumer", Source: kongRateLimit},
		{Key: kLimitStages + "scope", Value: "instance", Vendor: "policy: local (counters in each Kong node)", Source: kongRateLimit},
	},
	Algorithms: []Algorithm{
		{Name: "round-robin", Strategy: "weighted-round-robin", Source: kongUpstream},
		{Name: "least-connections", Strategy: "least-request", Source: kongUpstream},
		{Name: "consistent-hashing", Strategy: "ring-hash", Source: kongUpstream},
		{Name: "latency", Strategy: "peak-ewma", Params: map[string]float64{"decay": 10}, Source: kongUpstream,
			Note: "approximation: Kong's latency is P2C on EWMA/weight without the in-flight term"},
	},
	Gaps: []string{
		"Health checks, active and passive, are off by default.",
		"Kong's fixed windows are calendar-aligned; edgelab's are aligned to the run's start.",
	},
}

var apisix = &System{
	Name: "apisix", Title: "Apache APISIX", Tier: Gateway,
	Settings: []Setting{
		{Key: kStrategy, Value: "roundrobin", Vendor: "upstream type: roundrobin", Source: apisixUpstream},
		{Key: kRetries + "max", Value: "10", Vendor: "retries: the number of nodes − 1", Source: apisixUpstream,
			Note: "every other node once: edgelab's once_per_host with up to 10 retries"},
		{Key: kRetries + "once_per_host", Value: "true", Vendor: "NGINX's tried set", Source: apisixUpstream},
		{Key: kRetries + "backoff", Value: "0", Vendor: "the next node at once", Source: apisixUpstream},
		{Key: kRetries + "timeout", Value: "0", Vendor: "retry_timeout unset (no limit)", Source: apisixUpstream},
		{Key: kRetries + "on", Value: connectOrTime, Vendor: "NGINX's proxy_next_upstream error timeout", Source: apisixUpstream},
		{Key: kRetries + "per_try_timeout", Value: "60s", Vendor: "timeout.read: NGINX's 60 s", Source: apisixUpstream},
		{Key: kLimitStages + "algorithm", Value: "fixed-window", Vendor: "limit-count window_type: fixed", Source: apisixCount},
		{Key: kLimitStages + "per", Value: "client", Vendor: "limit-count key: remote_addr", Source: apisixCount},
		{Key: kLimitStages + "scope", Value: "instance", Vendor: "limit-count policy: local", Source: apisixCount},
	},
	Algorithms: []Algorithm{
		{Name: "roundrobin", Strategy: "weighted-round-robin", Source: apisixUpstream},
		{Name: "chash", Strategy: "ring-hash", Source: apisixUpstream},
		{Name: "ewma", Strategy: "peak-ewma", Params: map[string]float64{"decay": 10}, Source: apisixUpstream},
		{Name: "least_conn", Strategy: "least-request", Source: apisixUpstream},
	},
	Gaps: []string{"The preset takes limit-count (a fixed window); for limit-req write algorithm: leaky-bucket (NGINX's limit_req, which it wraps)."},
}

var tyk = &System{
	Name: "tyk", Title: "Tyk Gateway", Tier: Gateway,
	Settings: []Setting{
		{Key: kStrategy, Value: "round-robin", Vendor: "enable_load_balancing: round robin over target_list", Source: tykLB},
		{Key: kRetries + "max", Value: "0", Vendor: "no retries", Source: tykLB},
		{Key: kLimitStages + "algorithm", Value: "token-bucket", Vendor: "Distributed Rate Limiter: a token bucket", Source: tykRateLimit},
		{Key: kLimitStages + "per", Value: "client", Vendor: "per API key", Source: tykRateLimit},
	},
	Algorithms: []Algorithm{{Name: "round-robin", Strategy: "round-robin", Source: tykLB}},
	Gaps:       []string{"The DRL splits a limit between gateways and is not exact; uptime tests are off by default."},
}

var apigee = &System{
	Name: "apigee", Title: "Apigee", Tier: Gateway,
	Settings: []Setting{
		{Key: kStrategy, Value: "RoundRobin", Vendor: "LoadBalancer Algorithm RoundRobin", Source: apigeeLB},
		{Key: kPassive + "max_fails", Value: "0", Vendor: "MaxFailures 0: never taken out of rotation", Source: apigeeMaxFails},
		{Key: kRetries + "per_try_timeout", Value: "55s", Vendor: "io.timeout.millis 55000", Source: apigeeEndpoint},
		{Key: kLimitStages + "algorithm", Value: "token-bucket", Vendor: "SpikeArrest: smoothing, one request per 1/rate", Source: apigeeSpike},
		{Key: kLimitStages + "burst", Value: "1", Vendor: "SpikeArrest keeps no counter: no burst", Source: apigeeSpike},
		{Key: kLimitStages + "scope", Value: "instance", Vendor: "UseEffectiveCount false: each message processor enforces the rate", Source: apigeeSpike},
	},
	Algorithms: []Algorithm{
		{Name: "RoundRobin", Strategy: "round-robin", Source: apigeeLB},
		{Name: "Weighted", Strategy: "weighted-round-robin", Source: apigeeLB},
		{Name: "LeastConnections", Strategy: "least-request", Source: apigeeLB},
	},
	Gaps: []string{"Quota (a counted business limit per interval) is a fixed-window ratelimit stage; write it yourself."},
}

var awsAPIGateway = &System{
	Name: "aws-api-gateway", Title: "Amazon API Gateway (REST)", Tier: Gateway,
	Settings: []Setting{
		{Key: kAddLimit, Value: "{type: ratelimit, algorithm: token-bucket, rate: 10000, burst: 5000, per: global}",
			Vendor: "account throttle: 10,000 requests/s, burst 5,000 (token bucket)", Source: apigwThrottle,
			Note: "per account and Region; added first when the scenario has no ratelimit stage"},
		{Key: kTimeout, Value: "29s", Vendor: "integration timeout 29 s", Source: apigwQuotas},
		{Key: kRetries + "max", Value: "0", Vendor: "no retries of the integration", Source: apigwQuotas},
		{Key: kCacheStages + "ttl", Value: "300s", Vendor: "cache TTL 300 s", Source: apigwCache},
	},
	Gaps: []string{
		"API Gateway does not balance; its integration (an NLB through a VPC link, Lambda) does: set balancer.preset for it.",
		"Newer Regions have a 2,500/1,250 account throttle: override the stage's rate and burst.",
	},
}

var gcpAPIGateway = &System{
	Name: "gcp-api-gateway", Title: "Google API Gateway / Cloud Endpoints (ESPv2 on Envoy)", Tier: Gateway,
	Settings: []Setting{
		{Key: kTimeout, Value: "15s", Vendor: "x-google-backend deadline: 15 s (DefaultResponseDeadline)", Source: espv2Deadline},
		{Key: kRetries + "max", Value: "0", Vendor: "no retries", Source: gcpBackend},
		{Key: kLimitStages + "algorithm", Value: "fixed-window", Vendor: "quotas per minute per consumer project", Source: gcpQuotas},
		{Key: kLimitStages + "window", Value: "1m", Vendor: "per minute", Source: gcpQuotas},
		{Key: kLimitStages + "per", Value: "client", Vendor: "per consumer project (API key)", Source: gcpQuotas},
	},
	Gaps: []string{"The gateway has one backend address per rule; the backend (Cloud Run, GKE) balances. Google does not publish the quota's counting algorithm."},
}

var zuul = &System{
	Name: "zuul", Title: "Netflix Zuul 2", Tier: Gateway,
	Settings: []Setting{
		{Key: kStrategy, Value: "AvailabilityFilteringRule", Vendor: "Ribbon ZoneAwareLoadBalancer with AvailabilityFilteringRule", Source: ribbonRules},
		{Key: kRetries + "max", Value: "0", Vendor: "MaxAutoRetriesNextServer: 0 in Zuul 2", Source: zuulOrigin},
	},
	Algorithms: []Algorithm{
		{Name: "AvailabilityFilteringRule", Strategy: "round-robin", Source: ribbonRules, Note: "round robin that skips circuit-tripped servers"},
	},
	Gaps: []string{
		"Zuul's per-origin concurrency protection (200 requests) and its 500 ms connect timeout are not modelled.",
		"Netflix's published choice-of-2 with server utilization is internal, not in open-source Zuul.",
	},
}
