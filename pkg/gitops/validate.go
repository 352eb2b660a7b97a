package gitops

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
)

// SKE limits on names (STACKIT Kubernetes Engine API).
const (
	maxSKEClusterName = 11
	maxSKEPoolName    = 15
)

var (
	k8sVersionRE   = lazyRE(`^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`)
	skeVersionRE   = lazyRE(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`)
	uuidRE         = lazyRE(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	tokenRE        = lazyRE(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	scpLikeRepoRE  = lazyRE(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$`)
	revisionRE     = lazyRE(`^[^\s~^:?*\[\\]+$`)
	reservedLabels = []string{tenant.PoolLabel, tenant.LabelManagedBy}
	// tenantLabelPrefix is the prefix of tenant.LabelName and its kin.
	tenantLabelPrefix = strings.TrimSuffix(tenant.LabelName, "name")
)

// Validate checks a Config built in code (Parse already validated what it
// returns): errors name fields but no lines.
func (c *Config) Validate() error {
	if errs := validate(c, func(string) (int, int) { return 0, 0 }); len(errs) > 0 {
		return errs
	}
	return nil
}

type validator struct {
	file   string
	locate func(path string) (line, col int)
	errs   ErrorList
}

func (v *validator) errorf(path, format string, args ...any) {
	if len(v.errs) >= maxErrors {
		return
	}
	line, col := v.locate(path)
	v.errs = append(v.errs, &Error{File: v.file, Line: line, Column: col, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func validate(c *Config, locate func(string) (int, int)) ErrorList {
	file := c.File
	if file == "" {
		file = "config"
	}
	v := &validator{file: file, locate: locate}
	switch {
	case c.RepoURL == "":
		v.errorf("repoURL", "required: the Git URL of this platform repository (the Applications read it)")
	case !validRepoURL(c.RepoURL):
		v.errorf("repoURL", "%q is not a Git URL (https://…, ssh://… or user@host:path)", c.RepoURL)
	}
	if c.TargetRevision != "" && !revisionRE().MatchString(c.TargetRevision) {
		v.errorf("targetRevision", "%q is not a valid Git revision", c.TargetRevision)
	}
	if c.ArgoCDNamespace != "" {
		v.dnsLabel("argocdNamespace", c.ArgoCDNamespace, validation.DNS1123LabelMaxLength)
	}
	v.chart("vclusterChart", c.VClusterChart)
	v.chart("argocdChart", c.ArgoCDChart)
	if c.GC.Namespace != "" {
		v.dnsLabel("gc.namespace", c.GC.Namespace, validation.DNS1123LabelMaxLength)
	}
	if c.GC.Schedule != "" && len(strings.Fields(c.GC.Schedule)) != 5 && !strings.HasPrefix(c.GC.Schedule, "@") {
		v.errorf("gc.schedule", "%q is not a cron schedule (five fields, e.g. \"*/15 * * * *\", or @hourly)", c.GC.Schedule)
	}
	if c.GC.Image != "" && strings.ContainsAny(c.GC.Image, " \t") {
		v.errorf("gc.image", "%q is not an image reference", c.GC.Image)
	} else if c.GC.Image != "" && !pinnedImage(c.GC.Image) {
		v.errorf("gc.image", "%q is not pinned: use a version tag (e.g. :v1.2.0) or a digest (@sha256:...), not latest or no tag", c.GC.Image)
	}

	for _, pool := range slices.Sorted(maps.Keys(c.WarmPools)) {
		w := c.WarmPools[pool]
		w.Pool = pool // the key names the pool
		if err := w.Validate(); err != nil {
			v.errorf("warmPools."+pool, "%s", err)
		}
	}

	t := c.Terraform
	if t.ProjectID != "" && !uuidRE().MatchString(t.ProjectID) {
		v.errorf("terraform.projectID", "%q is not a STACKIT project ID (a UUID)", t.ProjectID)
	}
	if t.ClusterName != "" {
		v.dnsLabel("terraform.clusterName", t.ClusterName, maxSKEClusterName)
	}
	if t.Region != "" && !tokenRE().MatchString(t.Region) {
		v.errorf("terraform.region", "%q is not a region name (e.g. eu01)", t.Region)
	}
	if t.KubernetesVersion != "" && !skeVersionRE().MatchString(t.KubernetesVersion) {
		v.errorf("terraform.kubernetesVersion", "%q is not a version like 1.33", t.KubernetesVersion)
	}
	pools := map[string]string{} // pool name -> path of its name
	sysName := t.SystemPool.Name
	if sysName == "" {
		sysName = DefaultSystemPool
	}
	if t.SystemPool.Name != "" {
		v.dnsLabel("terraform.systemPool.name", sysName, maxSKEPoolName)
	}
	pools[sysName] = "terraform.systemPool.name"
	v.poolSettings("terraform.systemPool", t.SystemPool.PoolSettings)
	v.labels("terraform.systemPool.labels", t.SystemPool.Labels)
	v.resolvedPool("terraform.systemPool", resolvePool(c.Defaults.PoolSettings, t.SystemPool.PoolSettings))

	v.settings("defaults", c.Defaults)

	projects := map[string]string{}
	for i, cl := range c.Clusters {
		p := fmt.Sprintf("clusters[%d]", i)
		switch {
		case cl.Project == "":
			v.errorf(p+".project", "required: the project (tenant) name")
		default:
			if err := tenant.ValidateName(cl.Project); err != nil {
				v.errorf(p+".project", "%v", err)
			} else if cl.Project == inClusterName {
				v.errorf(p+".project", "%q is Argo CD's name for the host cluster: the project's AppProject and Applications would name the host; use another name", cl.Project)
			} else if first, dup := projects[cl.Project]; dup {
				line, _ := v.locate(first)
				v.errorf(p+".project", "duplicate project %q (first %s%s)", cl.Project, first, atLine(line))
			}
			projects[cl.Project] = p + ".project"
		}
		v.settings(p, cl.Settings)
		if len(cl.NodePools) == 0 {
			v.errorf(p+".nodePools", "required: at least one node pool (its nodes are labelled and tainted %s=<project>)", tenant.PoolLabel)
		}
		for j, np := range cl.NodePools {
			pp := fmt.Sprintf("%s.nodePools[%d]", p, j)
			switch {
			case np.Name == "":
				v.errorf(pp+".name", "required: the node pool name")
			case v.dnsLabel(pp+".name", np.Name, maxSKEPoolName):
				if first, dup := pools[np.Name]; dup {
					line, _ := v.locate(first)
					v.errorf(pp+".name", "duplicate node pool %q (first %s%s): pool names are unique in the host cluster", np.Name, first, atLine(line))
				}
				pools[np.Name] = pp + ".name"
			}
			v.poolSettings(pp, np.PoolSettings)
			v.labels(pp+".labels", np.Labels)
			v.resolvedPool(pp, resolvePool(c.Defaults.PoolSettings, cl.PoolSettings, np.PoolSettings))
		}
	}
	return v.errs
}

func atLine(line int) string {
	if line > 0 {
		return fmt.Sprintf(" at line %d", line)
	}
	return ""
}

func validRepoURL(u string) bool {
	if strings.ContainsAny(u, " \t\r\n") {
		return false
	}
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		return tokenRE().MatchString(scheme) && rest != ""
	}
	return scpLikeRepoRE().MatchString(u)
}

// dnsLabel reports whether s is a DNS-1123 label of at most maxLen characters.
func (v *validator) dnsLabel(path, s string, maxLen int) bool {
	if errs := validation.IsDNS1123Label(s); len(errs) > 0 {
		v.errorf(path, "invalid name %q: %s", s, strings.Join(errs, "; "))
		return false
	}
	if len(s) > maxLen {
		v.errorf(path, "invalid name %q: at most %d characters", s, maxLen)
		return false
	}
	return true
}

func (v *validator) chart(path string, c Chart) {
	if c.RepoURL != "" && (strings.ContainsAny(c.RepoURL, " \t\r\n") || !strings.Contains(c.RepoURL, "://") && !strings.Contains(c.RepoURL, "/")) {
		v.errorf(path+".repoURL", "%q is not a Helm repository URL", c.RepoURL)
	}
	if c.Chart != "" && !tokenRE().MatchString(c.Chart) {
		v.errorf(path+".chart", "%q is not a chart name", c.Chart)
	}
	if c.Version != "" && strings.ContainsAny(c.Version, " \t\r\n") {
		v.errorf(path+".version", "%q is not a chart version", c.Version)
	}
}

func (v *validator) settings(path string, s Settings) {
	v.poolSettings(path, s.PoolSettings)
	if s.K8sVersion != "" && !k8sVersionRE().MatchString(s.K8sVersion) {
		v.errorf(join(path, "k8sVersion"), "%q is not a Kubernetes version like v1.34.2 (the vCluster distro image tag)", s.K8sVersion)
	}
	if s.TTL.Duration < 0 {
		v.errorf(join(path, "ttl"), "must not be negative (0 never expires)")
	}
	v.labels(join(path, "labels"), s.Labels)
	for i, g := range s.Groups {
		switch {
		case strings.TrimSpace(g) == "" || strings.ContainsAny(g, "\r\n"):
			v.errorf(fmt.Sprintf("%s[%d]", join(path, "groups"), i), "invalid group name %q", g)
		case slices.Contains(everyoneGroups, g):
			v.errorf(fmt.Sprintf("%s[%d]", join(path, "groups"), i), "%q would give every such user the vCluster's admin credentials: name the project's own group", g)
		}
	}
	if lb := s.LoadBalancer; lb != nil {
		lp := join(path, "loadBalancer")
		for _, k := range slices.Sorted(maps.Keys(lb.Annotations)) {
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				v.errorf(lp+".annotations."+k, "invalid annotation key: %s", strings.Join(errs, "; "))
			}
		}
		for i, r := range lb.SourceRanges {
			if _, err := netip.ParsePrefix(r); err != nil {
				v.errorf(fmt.Sprintf("%s.sourceRanges[%d]", lp, i), "%q is not a CIDR (e.g. 203.0.113.0/24)", r)
			}
		}
	}
}

func (v *validator) poolSettings(path string, s PoolSettings) {
	if s.MachineType != "" && !tokenRE().MatchString(s.MachineType) {
		v.errorf(join(path, "machineType"), "%q is not a machine type (e.g. c1.2)", s.MachineType)
	}
	if s.Zone != "" && !tokenRE().MatchString(s.Zone) {
		v.errorf(join(path, "zone"), "%q is not an availability zone (e.g. eu01-1)", s.Zone)
	}
	if s.VolumeType != "" && !tokenRE().MatchString(s.VolumeType) {
		v.errorf(join(path, "volumeType"), "%q is not a volume type (e.g. storage_premium_perf1)", s.VolumeType)
	}
	if s.MinSize != nil && (*s.MinSize < 0 || *s.MinSize > 1000) {
		v.errorf(join(path, "minSize"), "must be between 0 and 1000, got %d", *s.MinSize)
	}
	if s.MaxSize != nil && (*s.MaxSize < 1 || *s.MaxSize > 1000) {
		v.errorf(join(path, "maxSize"), "must be between 1 and 1000, got %d", *s.MaxSize)
	}
	if s.VolumeSize != nil && (*s.VolumeSize < 1 || *s.VolumeSize > 100000) {
		v.errorf(join(path, "volumeSize"), "must be between 1 and 100000 (GB), got %d", *s.VolumeSize)
	}
}

// resolvedPool checks what only the combination of levels can break.
func (v *validator) resolvedPool(path string, p resolved) {
	if p.MinSize > p.MaxSize {
		v.errorf(path, "minSize %d is greater than maxSize %d", p.MinSize, p.MaxSize)
	}
}

func (v *validator) labels(path string, labels map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		val := labels[k]
		kp := path + "." + k
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			v.errorf(kp, "invalid label key: %s", strings.Join(errs, "; "))
			continue
		}
		if strings.HasPrefix(k, tenantLabelPrefix) || slices.Contains(reservedLabels, k) {
			v.errorf(kp, "label %q is set by kubectl-tenant and cannot be overridden", k)
			continue
		}
		if errs := validation.IsValidLabelValue(val); len(errs) > 0 {
			v.errorf(kp, "invalid label value %q: %s", val, strings.Join(errs, "; "))
		}
	}
}

// resolved are a node pool's effective settings.
type resolved struct {
	MachineType string
	MinSize     int
	MaxSize     int
	Zone        string
	VolumeSize  int
	VolumeType  string
}

// resolvePool applies levels in order: later levels win, built-in
// defaults fill what none sets.
func resolvePool(levels ...PoolSettings) resolved {
	r := resolved{
		MachineType: DefaultMachineType, MinSize: DefaultMinSize, MaxSize: DefaultMaxSize,
		Zone: DefaultZone, VolumeSize: DefaultVolumeSize, VolumeType: DefaultVolumeType,
	}
	for _, l := range levels {
		if l.MachineType != "" {
			r.MachineType = l.MachineType
		}
		if l.MinSize != nil {
			r.MinSize = *l.MinSize
		}
		if l.MaxSize != nil {
			r.MaxSize = *l.MaxSize
		}
		if l.Zone != "" {
			r.Zone = l.Zone
		}
		if l.VolumeSize != nil {
			r.VolumeSize = *l.VolumeSize
		}
		if l.VolumeType != "" {
			r.VolumeType = l.VolumeType
		}
	}
	return r
}

// everyoneGroups are Kubernetes' built-in groups of all users or all
// ServiceAccounts: never tenant admins.
var everyoneGroups = []string{"system:authenticated", "system:unauthenticated", "system:serviceaccounts", "system:masters"}

// pinnedImage says an image reference names a version tag other than
// latest, or a digest.
func pinnedImage(ref string) bool {
	if strings.Contains(ref, "@") {
		return true
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	return ok && tag != "" && tag != "latest"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// withDefaults returns the repository settings with built-in defaults filled.
func (c *Config) withDefaults() Config {
	r := *c
	r.TargetRevision = or(c.TargetRevision, DefaultTargetRevision)
	r.ArgoCDNamespace = or(c.ArgoCDNamespace, DefaultArgoCDNamespace)
	r.VClusterChart = Chart{
		RepoURL: or(c.VClusterChart.RepoURL, vclustervalues.DefaultChartRepo),
		Chart:   or(c.VClusterChart.Chart, vclustervalues.DefaultChart),
		Version: or(c.VClusterChart.Version, vclustervalues.DefaultChartVersion),
	}
	r.ArgoCDChart = Chart{
		RepoURL: or(c.ArgoCDChart.RepoURL, DefaultArgoCDChartRepo),
		Chart:   or(c.ArgoCDChart.Chart, DefaultArgoCDChart),
		Version: or(c.ArgoCDChart.Version, DefaultArgoCDChartVersion),
	}
	r.Terraform.ClusterName = or(c.Terraform.ClusterName, DefaultClusterName)
	r.Terraform.Region = or(c.Terraform.Region, DefaultRegion)
	r.Terraform.SystemPool.Name = or(c.Terraform.SystemPool.Name, DefaultSystemPool)
	r.GC = GC{
		Enabled:   c.GC.Enabled,
		Image:     or(c.GC.Image, GCImage(c.ToolVersion)),
		Schedule:  or(c.GC.Schedule, DefaultGCSchedule),
		Namespace: or(c.GC.Namespace, DefaultGCNamespace),
	}
	return r
}
