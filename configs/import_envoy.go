package configs

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	previoushostsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/durationpb"
	"gopkg.in/yaml.v3"
)

// The extension types an Envoy configuration commonly names in typed_config,
// linked in so that protojson can read them; any other is dropped before
// decoding and listed.
var (
	_ = routerv3.Router{}
	_ = previoushostsv3.PreviousHostsPredicate{}
)

// envoyImport reads one cluster of an Envoy configuration.
type envoyImport struct {
	file  string
	doc   *yaml.Node
	t     *tree
	notes []Note
}

// ImportEnvoy reads an Envoy bootstrap (YAML or JSON; static_resources) or
// a single cluster, with Envoy's own protos (go-control-plane) and
// protojson, and writes the scenario of one cluster: the envoy preset,
// its endpoints with their weights, lb_policy, active health checks,
// outlier detection, the panic threshold, slow start, and from the route
// that sends to it, the route timeout and retry policy. Lines come from
// the YAML itself.
func ImportEnvoy(file string, opt ImportOptions) (*Imported, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &InputError{At: file, Msg: fmt.Sprintf("cannot read: %v", unwrap(err))}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		at := file
		if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
			at += ":" + m[1]
		}
		return nil, &InputError{At: at, Msg: "not YAML or JSON: " + err.Error()}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &InputError{At: file, Msg: "want an Envoy bootstrap or cluster (a mapping)"}
	}
	root := doc.Content[0]
	var raw map[string]any
	if err := root.Decode(&raw); err != nil {
		return nil, &InputError{At: file, Msg: err.Error()}
	}
	im := &envoyImport{file: file, doc: root, t: &tree{}}
	// A lone cluster, or a list of clusters, becomes a bootstrap.
	prefix := []any{"static_resources", "clusters"}
	if _, ok := firstKey(raw, "static_resources", "staticResources"); !ok {
		if cl, ok := firstKey(raw, "clusters"); ok {
			raw = map[string]any{"static_resources": map[string]any{"clusters": cl}}
			prefix = []any{"clusters"}
		} else {
			raw = map[string]any{"static_resources": map[string]any{"clusters": []any{raw}}}
			prefix = nil
		}
	}
	// The raw document's own shape, for lines: a bootstrap is walked from
	// the top; a wrapped cluster (list) is not (its notes name the file).
	var walkFrom []any
	if prefix != nil && prefix[0] == "static_resources" {
		walkFrom = []any{}
	}
	im.dropUnknownAnys(raw, walkFrom)
	js, err := json.Marshal(raw)
	if err != nil {
		return nil, &InputError{At: file, Msg: err.Error()}
	}
	var bs bootstrapv3.Bootstrap
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, &bs); err != nil {
		return nil, &InputError{At: file, Msg: "not an Envoy configuration: " + err.Error()}
	}
	clusters := bs.GetStaticResources().GetClusters()
	var names []string
	for _, c := range clusters {
		names = append(names, c.GetName())
	}
	ci, err := pick(file, "cluster", names, opt.Upstream)
	if err != nil {
		return nil, err
	}
	path := append(append([]any{}, prefix...), ci)
	if prefix == nil {
		path = nil
	}
	if err := im.cluster(clusters[ci], path); err != nil {
		return nil, err
	}
	im.routes(&bs, clusters[ci].GetName())
	return render("Envoy cluster", clusters[ci].GetName(), file, im.t, im.notes), nil
}

func firstKey(m map[string]any, keys ...string) (any, bool) {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v, true
		}
	}
	return nil, false
}

// dropUnknownAnys removes typed_config values whose @type edgelab does not
// link (protojson could not read them) and lists them. path is v's place in
// the file (nil where the file's shape was wrapped).
func (im *envoyImport) dropUnknownAnys(v any, path []any) {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			var p []any
			if path != nil {
				p = append(append([]any{}, path...), k)
			}
			if m, ok := sub.(map[string]any); ok && (k == "typed_config" || k == "typedConfig") {
				if t, ok := m["@type"].(string); ok {
					if _, err := protoregistry.GlobalTypes.FindMessageByURL(t); err != nil {
						delete(x, k)
						at := im.file
						if p != nil {
							at = im.at(p...)
						}
						im.notes = append(im.notes, Note{At: at, What: k + " " + t, Why: "an extension edgelab does not read"})
						continue
					}
				}
			}
			im.dropUnknownAnys(sub, p)
		}
	case []any:
		for i, sub := range x {
			var p []any
			if path != nil {
				p = append(append([]any{}, path...), i)
			}
			im.dropUnknownAnys(sub, p)
		}
	}
}

// at is the file:line of a path in the YAML (snake_case or lowerCamel
// keys), or of its nearest ancestor there.
func (im *envoyImport) at(path ...any) string {
	n := im.doc
	line := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				camel := snakeToCamel(k)
				for i := 0; i+1 < len(n.Content); i += 2 {
					if key := n.Content[i].Value; key == k || key == camel {
						next = n.Content[i+1]
						line = n.Content[i].Line
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return fmt.Sprintf("%s:%d", im.file, line)
}

func snakeToCamel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

func (im *envoyImport) note(at, what, why string) {
	im.notes = append(im.notes, Note{At: at, What: what, Why: why})
}

func dur(d *durationpb.Duration) string { return d.AsDuration().String() }

func sub(path []any, more ...any) []any { return append(append([]any{}, path...), more...) }

// cluster maps a cluster.
func (im *envoyImport) cluster(c *clusterv3.Cluster, path []any) error {
	t := im.t
	t.set("name", yamlString(c.GetName()), im.at(sub(path, "name")...))
	t.set("duration", "60s", "")
	t.set("warmup", "10s", "")
	t.set("clients.arrival", "{process: poisson, rate: 100}", "not in the configuration: your load")
	t.set("balancer.preset", "envoy", im.at(path...)+": Envoy")
	policy := c.GetLbPolicy().String()
	switch policy {
	case "ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "MAGLEV":
		t.set("balancer.strategy", policy, im.at(sub(path, "lb_policy")...))
	default:
		im.note(im.at(sub(path, "lb_policy")...), "lb_policy "+policy, "not modelled; left at round robin")
	}
	if lr := c.GetLeastRequestLbConfig(); lr != nil {
		if n := lr.GetChoiceCount(); n != nil && n.GetValue() != 2 {
			t.set("balancer.params", fmt.Sprintf("{p2c: {choices: %d, distinct: 0}}", n.GetValue()), im.at(sub(path, "least_request_lb_config", "choice_count")...))
		}
		if lr.GetActiveRequestBias() != nil {
			im.note(im.at(sub(path, "least_request_lb_config")...), "active_request_bias", "weighted least request's bias is not modelled")
		}
		if ss := lr.GetSlowStartConfig(); ss != nil && ss.GetSlowStartWindow() != nil {
			t.set("balancer.health.slow_start", dur(ss.GetSlowStartWindow()), im.at(sub(path, "least_request_lb_config", "slow_start_config")...))
		}
	}
	if rr := c.GetRoundRobinLbConfig(); rr != nil {
		if ss := rr.GetSlowStartConfig(); ss != nil && ss.GetSlowStartWindow() != nil {
			t.set("balancer.health.slow_start", dur(ss.GetSlowStartWindow()), im.at(sub(path, "round_robin_lb_config", "slow_start_config")...))
		}
	}
	if c.GetLoadBalancingPolicy() != nil {
		im.note(im.at(sub(path, "load_balancing_policy")...), "load_balancing_policy", "extension policies are not read; use lb_policy")
	}
	if p := c.GetCommonLbConfig().GetHealthyPanicThreshold(); p != nil {
		t.set("balancer.health.panic_threshold", strconv.FormatFloat(p.GetValue(), 'g', -1, 64), im.at(sub(path, "common_lb_config", "healthy_panic_threshold")...))
	}
	if hcs := c.GetHealthChecks(); len(hcs) > 0 {
		hc := hcs[0]
		hp := sub(path, "health_checks", 0)
		t.set("balancer.health.active.interval", dur(hc.GetInterval()), im.at(sub(hp, "interval")...))
		t.set("balancer.health.active.timeout", dur(hc.GetTimeout()), im.at(sub(hp, "timeout")...))
		if v := hc.GetUnhealthyThreshold(); v != nil {
			t.set("balancer.health.active.unhealthy", strconv.Itoa(int(v.GetValue())), im.at(sub(hp, "unhealthy_threshold")...))
		}
		if v := hc.GetHealthyThreshold(); v != nil {
			t.set("balancer.health.active.healthy", strconv.Itoa(int(v.GetValue())), im.at(sub(hp, "healthy_threshold")...))
		}
		if len(hcs) > 1 {
			im.note(im.at(sub(path, "health_checks", 1)...), "health_checks[1…]", "only the first health check is modelled")
		}
	}
	if od := c.GetOutlierDetection(); od != nil {
		op := sub(path, "outlier_detection")
		t.set("balancer.health.outlier.consecutive_5xx", strconv.Itoa(int(valueOr(od.GetConsecutive_5Xx().GetValue(), 5))), im.at(sub(op, "consecutive_5xx")...))
		base := 30 * time.Second
		if d := od.GetBaseEjectionTime(); d != nil {
			base = d.AsDuration()
		}
		t.set("balancer.health.outlier.base_ejection", base.String(), im.at(sub(op, "base_ejection_time")...))
		t.set("balancer.health.outlier.max_ejection_percent", strconv.Itoa(int(valueOr(od.GetMaxEjectionPercent().GetValue(), 10))), im.at(sub(op, "max_ejection_percent")...))
		for _, f := range []struct {
			set  bool
			name string
		}{
			{od.GetInterval() != nil, "interval"}, {od.GetMaxEjectionTime() != nil, "max_ejection_time"},
			{od.GetEnforcingSuccessRate() != nil || od.GetSuccessRateMinimumHosts() != nil, "success_rate"},
			{od.GetEnforcingFailurePercentage() != nil || od.GetFailurePercentageThreshold() != nil, "failure_percentage"},
			{od.GetConsecutiveGatewayFailure() != nil, "consecutive_gateway_failure"},
		} {
			if f.set {
				im.note(im.at(sub(op, f.name)...), "outlier_detection."+f.name, "not modelled: edgelab ejects on consecutive 5xx")
			}
		}
	}
	if c.GetCircuitBreakers() != nil {
		im.note(im.at(sub(path, "circuit_breakers")...), "circuit_breakers", "not modelled")
	}
	if c.GetConnectTimeout() != nil {
		im.note(im.at(sub(path, "connect_timeout")...), "connect_timeout "+dur(c.GetConnectTimeout()), "not modelled: edgelab's backends answer connections at once")
	}
	var weights []string
	n := 0
	for li, loc := range c.GetLoadAssignment().GetEndpoints() {
		if loc.GetPriority() > 0 {
			im.note(im.at(sub(path, "load_assignment", "endpoints", li)...), fmt.Sprintf("priority %d", loc.GetPriority()), "failover priorities are not modelled: left out")
			continue
		}
		for _, e := range loc.GetLbEndpoints() {
			w := uint32(1)
			if v := e.GetLoadBalancingWeight(); v != nil {
				w = v.GetValue()
			}
			weights = append(weights, strconv.Itoa(int(w)))
			n++
		}
	}
	if n == 0 {
		return &InputError{At: im.at(sub(path, "load_assignment")...), Msg: "the cluster has no endpoint (priority 0) in load_assignment"}
	}
	t.set("servers", serverGroup(c.GetName(), n, weights, nil), im.at(sub(path, "load_assignment")...)+": the endpoints (concurrency and service are not in the configuration)")
	return nil
}

func valueOr(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}

// routes reads the static listeners' routes to the cluster: the route
// timeout and retry policy (the route's, else its virtual host's).
func (im *envoyImport) routes(bs *bootstrapv3.Bootstrap, cluster string) {
	var found *routev3.Route
	var vh *routev3.VirtualHost
	where := ""
	for li, l := range bs.GetStaticResources().GetListeners() {
		for fi, fc := range l.GetFilterChains() {
			for ki, f := range fc.GetFilters() {
				var hcm hcmv3.HttpConnectionManager
				if f.GetTypedConfig() == nil || f.GetTypedConfig().UnmarshalTo(&hcm) != nil {
					continue
				}
				for vi, v := range hcm.GetRouteConfig().GetVirtualHosts() {
					for ri, r := range v.GetRoutes() {
						if r.GetRoute().GetCluster() == cluster && found == nil {
							found, vh = r, v
							where = im.at("static_resources", "listeners", li, "filter_chains", fi, "filters", ki, "typed_config", "route_config", "virtual_hosts", vi, "routes", ri)
						}
					}
				}
			}
		}
	}
	if found == nil {
		im.note(im.file, "cluster "+cluster, "no static route sends to it: Envoy's route defaults (15 s timeout, no retries)")
		return
	}
	t := im.t
	ra := found.GetRoute()
	if d := ra.GetTimeout(); d != nil {
		t.set("clients.timeout", dur(d), where+": route timeout")
	}
	rp := ra.GetRetryPolicy()
	if rp == nil {
		rp = vh.GetRetryPolicy()
	}
	if rp == nil {
		return
	}
	n := 1
	if v := rp.GetNumRetries(); v != nil {
		n = int(v.GetValue())
	}
	t.set("clients.retries.max", strconv.Itoa(min(n, 10)), where+": retry_policy.num_retries")
	var on []string
	add := func(os ...string) {
		for _, o := range os {
			if !contains(on, o) {
				on = append(on, o)
			}
		}
	}
	for _, c := range strings.Split(rp.GetRetryOn(), ",") {
		switch c = strings.TrimSpace(c); c {
		case "5xx":
			add("error_5xx", "connect_failure", "queue_full", "timeout")
		case "gateway-error":
			add("error_5xx", "queue_full", "connect_failure")
		case "connect-failure", "reset", "refused-stream":
			add("connect_failure")
		case "":
		default:
			im.note(where, "retry_on "+c, "not modelled")
		}
	}
	t.set("clients.retries.on", "["+strings.Join(on, ", ")+"]", where+": retry_policy.retry_on")
	if d := rp.GetPerTryTimeout(); d != nil {
		t.set("clients.retries.per_try_timeout", dur(d), where+": retry_policy.per_try_timeout")
	}
	if bo := rp.GetRetryBackOff(); bo != nil {
		t.set("clients.retries.backoff", dur(bo.GetBaseInterval()), where+": retry_back_off")
		if bo.GetMaxInterval() != nil {
			t.set("clients.retries.max_backoff", dur(bo.GetMaxInterval()), where+": retry_back_off")
		}
	}
	for _, p := range rp.GetRetryHostPredicate() {
		if p.GetName() == "envoy.retry_host_predicates.previous_hosts" {
			t.set("clients.retries.other_host", "true", where+": previous_hosts")
		} else {
			im.note(where, "retry_host_predicate "+p.GetName(), "not modelled")
		}
	}
}
