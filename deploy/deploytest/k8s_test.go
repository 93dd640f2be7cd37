package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/mdouyin/mdouyin/internal/config"
)

// manifests are the objects of deploy/k8s, each decoded strictly into its
// Kubernetes type.
type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	pdbs        []*policyv1.PodDisruptionBudget
}

// decodeStrict decodes one YAML document into obj, failing on fields obj's
// type does not have and on fields given twice: a misspelt key is an error,
// not a setting Kubernetes would silently drop.
func decodeStrict(doc []byte, obj any) error {
	return yaml.UnmarshalStrict(doc, obj)
}

// splitDocuments returns the non-empty YAML documents of r.
func splitDocuments(r io.Reader) ([][]byte, error) {
	var docs [][]byte
	rd := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var probe map[string]any
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			return nil, err
		}
		if len(probe) > 0 { // not only comments
			docs = append(docs, doc)
		}
	}
}

// decodeObject decodes one manifest by its apiVersion and kind; only the kinds
// mdouyin ships are accepted.
func decodeObject(doc []byte, m *manifests) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	switch tm.APIVersion + "/" + tm.Kind {
	case "apps/v1/Deployment":
		var d appsv1.Deployment
		if err := decodeStrict(doc, &d); err != nil {
			return err
		}
		m.deployments = append(m.deployments, &d)
	case "v1/Service":
		var s corev1.Service
		if err := decodeStrict(doc, &s); err != nil {
			return err
		}
		m.services = append(m.services, &s)
	case "v1/ConfigMap":
		var c corev1.ConfigMap
		if err := decodeStrict(doc, &c); err != nil {
			return err
		}
		m.configMaps[c.Name] = &c
	case "v1/Secret":
		var s corev1.Secret
		if err := decodeStrict(doc, &s); err != nil {
			return err
		}
		m.secrets[s.Name] = &s
	case "policy/v1/PodDisruptionBudget":
		var p policyv1.PodDisruptionBudget
		if err := decodeStrict(doc, &p); err != nil {
			return err
		}
		m.pdbs = append(m.pdbs, &p)
	default:
		return fmt.Errorf("unexpected object %s %s", tm.APIVersion, tm.Kind)
	}
	return nil
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "deploy/k8s/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := splitDocuments(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, doc := range docs {
			if err := decodeObject(doc, m); err != nil {
				t.Errorf("%s, document %d: %v", filepath.Base(f), i+1, err)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return m
}

// TestStrictDecodingRefusesUnknownFields guards the harness: if decoding were
// lenient, every other test here would pass on misspelt manifests.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	good := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 2\n"
	if err := decodeObject([]byte(good), &manifests{}); err != nil {
		t.Fatalf("a valid Deployment was refused: %v", err)
	}
	for name, doc := range map[string]string{
		"misspelt field":  strings.Replace(good, "replicas", "replica", 1),
		"duplicate field": good + "  replicas: 3\n",
		"unknown kind":    strings.Replace(good, "Deployment", "Deploymnet", 1),
	} {
		if err := decodeObject([]byte(doc), &manifests{configMaps: map[string]*corev1.ConfigMap{}}); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// ptrValue shows a pointer's value in messages ("unset" for nil).
func ptrValue[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// roleOf returns the role a Deployment runs, from its container's arguments.
func roleOf(d *appsv1.Deployment) string {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, a := range c.Args {
			if r, ok := strings.CutPrefix(a, "--role="); ok {
				return r
			}
		}
	}
	return ""
}

// podIP stands in for the downward API's status.podIP when resolving env.
const podIP = "10.1.2.3"

// resolveEnv returns the environment the container would get: envFrom sources
// in order, then env; valueFrom entries are resolved as the kubelet would (the
// pod IP for status.podIP, the referenced key of a ConfigMap or Secret).
func resolveEnv(t *testing.T, m *manifests, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, src := range c.EnvFrom {
		switch {
		case src.ConfigMapRef != nil:
			cm, ok := m.configMaps[src.ConfigMapRef.Name]
			if !ok {
				t.Fatalf("container %s: envFrom names ConfigMap %q, which is not in deploy/k8s", c.Name, src.ConfigMapRef.Name)
			}
			for k, v := range cm.Data {
				env[src.Prefix+k] = v
			}
		case src.SecretRef != nil:
			s, ok := m.secrets[src.SecretRef.Name]
			if !ok {
				t.Fatalf("container %s: envFrom names Secret %q, which is not in deploy/k8s", c.Name, src.SecretRef.Name)
			}
			for k, v := range s.StringData {
				env[src.Prefix+k] = v
			}
			for k, v := range s.Data {
				env[src.Prefix+k] = string(v)
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP":
			env[e.Name] = podIP
		case e.ValueFrom.SecretKeyRef != nil:
			s, ok := m.secrets[e.ValueFrom.SecretKeyRef.Name]
			if !ok {
				t.Fatalf("container %s: %s refers to Secret %q, which is not in deploy/k8s", c.Name, e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
			env[e.Name] = s.StringData[e.ValueFrom.SecretKeyRef.Key]
		case e.ValueFrom.ConfigMapKeyRef != nil:
			cm, ok := m.configMaps[e.ValueFrom.ConfigMapKeyRef.Name]
			if !ok {
				t.Fatalf("container %s: %s refers to ConfigMap %q, which is not in deploy/k8s", c.Name, e.Name, e.ValueFrom.ConfigMapKeyRef.Name)
			}
			env[e.Name] = cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]
		default:
			t.Errorf("container %s: %s comes from a source this test cannot resolve", c.Name, e.Name)
		}
	}
	return env
}

// probePort resolves a probe's port (a number or a port name) in c.
func probePort(t *testing.T, c corev1.Container, probe *corev1.Probe) int32 {
	t.Helper()
	if probe.HTTPGet == nil {
		t.Fatalf("container %s: probe is not an HTTP GET", c.Name)
	}
	if probe.HTTPGet.Port.StrVal == "" {
		return probe.HTTPGet.Port.IntVal
	}
	for _, p := range c.Ports {
		if p.Name == probe.HTTPGet.Port.StrVal {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s: probe port %q is not one of its ports", c.Name, probe.HTTPGet.Port.StrVal)
	return 0
}

func portNamed(c corev1.Container, name string) (int32, bool) {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

// validSecrets replaces the example Secret's placeholders with values that
// pass validation, as an operator's real Secret would.
func validSecrets(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	out["MDOUYIN_JWT_SECRET"] = strings.Repeat("k", 32)
	return out
}

func TestManifestsDeployEveryRole(t *testing.T) {
	m := loadManifests(t)
	byRole := map[string][]*appsv1.Deployment{}
	for _, d := range m.deployments {
		byRole[roleOf(d)] = append(byRole[roleOf(d)], d)
	}
	for _, role := range config.Roles {
		if n := len(byRole[role]); n != 1 {
			t.Errorf("role %s has %d Deployments, want 1", role, n)
		}
	}
	for role, ds := range byRole {
		if !slices.Contains(config.Roles, role) {
			t.Errorf("Deployments %s run role %q, which is not one of %v", ds[0].Name, role, config.Roles)
		}
	}

	var image string
	for _, d := range m.deployments {
		role := roleOf(d)
		pod := d.Spec.Template.Spec
		if len(pod.Containers) != 1 {
			t.Errorf("%s: %d containers, want 1", d.Name, len(pod.Containers))
			continue
		}
		c := pod.Containers[0]
		if !slices.Equal(c.Args, []string{"serve", "--role=" + role}) {
			t.Errorf("%s: args %v, want [serve --role=%s]", d.Name, c.Args, role)
		}
		// Every role is stateless (comment-admin's index is rebuilt per pod).
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Errorf("%s: replicas %s, want at least 2", d.Name, fmt.Sprint(ptrValue(d.Spec.Replicas)))
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: selector %v does not match the pod labels %v (%v)", d.Name, d.Spec.Selector, d.Spec.Template.Labels, err)
		}
		for _, ctr := range slices.Concat(pod.InitContainers, pod.Containers) {
			if image == "" {
				image = ctr.Image
			}
			if ctr.Image != image {
				t.Errorf("%s/%s: image %q, others use %q", d.Name, ctr.Name, ctr.Image, image)
			}
		}
	}
}

func TestManifestsProbesAndPorts(t *testing.T) {
	m := loadManifests(t)
	for _, d := range m.deployments {
		role := roleOf(d)
		c := d.Spec.Template.Spec.Containers[0]
		env := resolveEnv(t, m, c)
		cfg, err := config.Load("", func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		httpPort, err := strconv.Atoi(port(t, cfg.HTTPAddr))
		if err != nil {
			t.Fatal(err)
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s: readiness %v, liveness %v: want both", d.Name, c.ReadinessProbe, c.LivenessProbe)
			continue
		}
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}, {"startup", c.StartupProbe, "/healthz"}} {
			if p.probe == nil {
				continue // a startup probe is optional
			}
			if p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path {
				t.Errorf("%s: %s probe %+v, want GET %s", d.Name, p.name, p.probe.ProbeHandler, p.path)
				continue
			}
			if got := probePort(t, c, p.probe); int(got) != httpPort {
				t.Errorf("%s: %s probe on port %d, but MDOUYIN_HTTP_ADDR is %q", d.Name, p.name, got, cfg.HTTPAddr)
			}
		}
		if a := d.Spec.Template.Annotations; a["prometheus.io/port"] != strconv.Itoa(httpPort) || a["prometheus.io/path"] != "/metrics" {
			t.Errorf("%s: scrape annotations %v, want port %d and /metrics", d.Name, a, httpPort)
		}

		if role == "gateway" {
			continue // the gateway serves no RPC
		}
		rpcPort, _ := strconv.Atoi(port(t, cfg.RPC.Addr))
		if got, ok := portNamed(c, "rpc"); !ok || int(got) != rpcPort {
			t.Errorf("%s: port rpc %d (%v), but MDOUYIN_RPC_ADDR is %q", d.Name, got, ok, cfg.RPC.Addr)
		}
		// Replicas register in etcd under this address: it must be the pod's own.
		if cfg.RPC.Advertise != podIP {
			t.Errorf("%s: MDOUYIN_RPC_ADVERTISE resolves to %q, want the pod IP (downward API status.podIP)", d.Name, cfg.RPC.Advertise)
		}
		if len(cfg.RPC.Etcd) == 0 {
			t.Errorf("%s: no MDOUYIN_ETCD_ENDPOINTS: replicas could not find each other", d.Name)
		}
	}
}

func TestManifestsConfigurationValidates(t *testing.T) {
	m := loadManifests(t)
	known := settingNames(t)
	for _, d := range m.deployments {
		role := roleOf(d)
		pod := d.Spec.Template.Spec
		for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
			env := resolveEnv(t, m, c)
			for k := range env {
				if strings.HasPrefix(k, config.EnvPrefix) && !known[k] {
					t.Errorf("%s/%s: %s is not an mdouyin setting", d.Name, c.Name, k)
				}
			}
			// As committed, the example Secret must keep every role from starting.
			cfg, err := config.Load("", func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("%s/%s: %v", d.Name, c.Name, err)
			}
			if err := cfg.Validate(role); err == nil || !strings.Contains(err.Error(), "jwt.secret") {
				t.Errorf("%s/%s: the placeholder JWT secret passes validation (%v); it must not", d.Name, c.Name, err)
			}
			// With the placeholders replaced, the configuration is one the role accepts.
			real := validSecrets(env)
			cfg, err = config.Load("", func(k string) string { return real[k] })
			if err != nil {
				t.Fatalf("%s/%s: %v", d.Name, c.Name, err)
			}
			if err := cfg.Validate(role); err != nil {
				t.Errorf("%s/%s: %v", d.Name, c.Name, err)
			}
			if cfg.Database.Driver != "mysql" || cfg.Cache.Driver != "redis" || cfg.Events.Driver != "nats" || cfg.Blob.Driver != "s3" {
				t.Errorf("%s/%s: drivers %s/%s/%s/%s, want mysql/redis/nats/s3 for a cluster", d.Name, c.Name,
					cfg.Database.Driver, cfg.Cache.Driver, cfg.Events.Driver, cfg.Blob.Driver)
			}
		}
	}
	for name, s := range m.secrets {
		if len(s.Data) > 0 {
			t.Errorf("Secret %s: use stringData, so that the placeholders stay readable", name)
		}
		for k, v := range s.StringData {
			if !strings.Contains(v, "CHANGE-ME") {
				t.Errorf("Secret %s: %s = %q is not marked as a placeholder (CHANGE-ME)", name, k, v)
			}
		}
	}
}

func TestManifestsShutdownAndResources(t *testing.T) {
	m := loadManifests(t)
	for _, d := range m.deployments {
		pod := d.Spec.Template.Spec
		c := pod.Containers[0]
		env := resolveEnv(t, m, c)
		cfg, err := config.Load("", func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		// SIGTERM comes after the pre-stop hook; the process then drains for
		// up to shutdown_timeout, and needs a few seconds beyond it to close.
		var preStop time.Duration
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
			h := c.Lifecycle.PreStop
			switch {
			case h.Exec != nil && len(h.Exec.Command) == 2 && h.Exec.Command[0] == "sleep":
				n, err := strconv.Atoi(h.Exec.Command[1])
				if err != nil {
					t.Fatalf("%s: preStop %v", d.Name, h.Exec.Command)
				}
				preStop = time.Duration(n) * time.Second
			case h.Sleep != nil:
				preStop = time.Duration(h.Sleep.Seconds) * time.Second
			default:
				t.Errorf("%s: preStop %+v: this test knows only sleep hooks", d.Name, h)
			}
		}
		grace := time.Duration(30) * time.Second // Kubernetes' default
		if pod.TerminationGracePeriodSeconds != nil {
			grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
		}
		if need := preStop + cfg.HTTP.ShutdownTimeout + 5*time.Second; grace < need {
			t.Errorf("%s: terminationGracePeriodSeconds %v < pre-stop %v + http.shutdown_timeout %v + 5s", d.Name, grace, preStop, cfg.HTTP.ShutdownTimeout)
		}

		for _, ctr := range slices.Concat(pod.InitContainers, pod.Containers) {
			r := ctr.Resources
			for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, hasReq := r.Requests[name]
				lim, hasLim := r.Limits[name]
				if !hasReq || !hasLim {
					t.Errorf("%s/%s: %s request %v, limit %v: want both", d.Name, ctr.Name, name, hasReq, hasLim)
					continue
				}
				if req.Cmp(lim) > 0 {
					t.Errorf("%s/%s: %s request %s above its limit %s", d.Name, ctr.Name, name, req.String(), lim.String())
				}
			}
			// GOMEMLIMIT uses Go's units (MiB), Kubernetes its own (Mi).
			for _, e := range ctr.Env {
				if e.Name != "GOMEMLIMIT" {
					continue
				}
				q, err := resource.ParseQuantity(strings.TrimSuffix(e.Value, "B"))
				if err != nil {
					t.Errorf("%s/%s: GOMEMLIMIT %q: %v", d.Name, ctr.Name, e.Value, err)
					continue
				}
				if lim := r.Limits[corev1.ResourceMemory]; q.Cmp(lim) >= 0 {
					t.Errorf("%s/%s: GOMEMLIMIT %s is not below the memory limit %s", d.Name, ctr.Name, e.Value, lim.String())
				}
			}

			sc := ctr.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s/%s: securityContext %+v: want a read-only root, no privilege escalation, all capabilities dropped", d.Name, ctr.Name, sc)
			}
			// With a read-only root, everything the process writes must be a volume.
			mounts := map[string]string{}
			for _, vm := range ctr.VolumeMounts {
				mounts[vm.MountPath] = vm.Name
			}
			for _, path := range []string{"/data", "/tmp"} {
				vol := mounts[path]
				if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == vol && v.EmptyDir != nil }) {
					t.Errorf("%s/%s: %s is not an emptyDir volume (mounts %v)", d.Name, ctr.Name, path, mounts)
				}
			}
			if env := resolveEnv(t, m, ctr); env["MDOUYIN_DATA_DIR"] != "" && env["MDOUYIN_DATA_DIR"] != "/data" {
				t.Errorf("%s/%s: MDOUYIN_DATA_DIR %q is not the /data volume", d.Name, ctr.Name, env["MDOUYIN_DATA_DIR"])
			}
		}
		psc := pod.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Errorf("%s: pod securityContext %+v: want runAsNonRoot with a non-zero runAsUser", d.Name, psc)
		}
		// Service links add *_SERVICE_HOST/_PORT variables; those of the
		// mdouyin-gateway Service would start with the settings' prefix.
		if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
			t.Errorf("%s: enableServiceLinks is not false", d.Name)
		}
	}
}

// TestCommentAdminRebuildsItsIndex: the search index lives in an emptyDir, so
// each comment-admin pod must rebuild it before serving.
func TestCommentAdminRebuildsItsIndex(t *testing.T) {
	m := loadManifests(t)
	for _, d := range m.deployments {
		if roleOf(d) != "comment-admin" {
			continue
		}
		pod := d.Spec.Template.Spec
		if len(pod.InitContainers) != 1 || !slices.Equal(pod.InitContainers[0].Args, []string{"reindex", "--role=comment-admin"}) {
			t.Fatalf("%s: init containers %v, want one running reindex --role=comment-admin", d.Name, pod.InitContainers)
		}
		reindex, server := pod.InitContainers[0], pod.Containers[0]
		if !slices.EqualFunc(reindex.EnvFrom, server.EnvFrom, func(a, b corev1.EnvFromSource) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
			t.Errorf("%s: the init container's envFrom %v differs from the server's %v", d.Name, reindex.EnvFrom, server.EnvFrom)
		}
		if !slices.ContainsFunc(reindex.VolumeMounts, func(v corev1.VolumeMount) bool { return v.Name == "data" && v.MountPath == "/data" && !v.ReadOnly }) {
			t.Errorf("%s: the init container does not write the data volume the server reads: %v", d.Name, reindex.VolumeMounts)
		}
		return
	}
	t.Fatal("no comment-admin Deployment")
}

func TestManifestsServicesAndBudgets(t *testing.T) {
	m := loadManifests(t)
	podsOf := func(sel labels.Selector) []*appsv1.Deployment {
		var out []*appsv1.Deployment
		for _, d := range m.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				out = append(out, d)
			}
		}
		return out
	}
	var gateway bool
	for _, s := range m.services {
		ds := podsOf(labels.SelectorFromSet(s.Spec.Selector))
		if len(s.Spec.Selector) == 0 || len(ds) != 1 {
			t.Errorf("Service %s selects %d Deployments, want 1", s.Name, len(ds))
			continue
		}
		c := ds[0].Spec.Template.Spec.Containers[0]
		for _, p := range s.Spec.Ports {
			if p.TargetPort.StrVal != "" {
				if _, ok := portNamed(c, p.TargetPort.StrVal); !ok {
					t.Errorf("Service %s: target port %q is not a port of %s", s.Name, p.TargetPort.StrVal, ds[0].Name)
				}
			}
		}
		gateway = gateway || roleOf(ds[0]) == "gateway"
	}
	if !gateway {
		t.Error("no Service reaches the gateway")
	}
	covered := map[string]bool{}
	for _, p := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		ds := podsOf(sel)
		if len(ds) != 1 {
			t.Errorf("PodDisruptionBudget %s selects %d Deployments, want 1", p.Name, len(ds))
			continue
		}
		if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.IntValue() >= int(*ds[0].Spec.Replicas) {
			t.Errorf("PodDisruptionBudget %s: minAvailable %v would block every drain of %d replicas", p.Name, p.Spec.MinAvailable, *ds[0].Spec.Replicas)
		}
		covered[roleOf(ds[0])] = true
	}
	for _, role := range config.Roles {
		if !covered[role] {
			t.Errorf("role %s has no PodDisruptionBudget", role)
		}
	}
}
