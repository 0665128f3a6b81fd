package compliance

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"crawlspace.dev/services/compliance/accounts"
	"crawlspace.dev/services/compliance/logindefs"
	"crawlspace.dev/services/compliance/pamd"
	"crawlspace.dev/services/compliance/proftpd"
	"crawlspace.dev/services/compliance/sshdconfig"
	"crawlspace.dev/services/compliance/sudoers"
	"crawlspace.dev/services/compliance/vsftpd"
)

// Features is what the crawler stored of one image; the rules' view is
// built from it.
type Features struct {
	// OS is the distribution from os-release.
	OS OS
	// Config is the raw OCI image config JSON; nil means {}.
	Config []byte
	// Files is the merged file list. Perm and the special-bit fields may
	// be left zero: [NewView] derives them from Mode.
	Files []File
	// Packages are the installed packages.
	Packages []Package
	// ConfigFiles maps captured configuration file paths to contents.
	ConfigFiles map[string]string
}

// View is the typed view of one image, as rule expressions read it: each
// field is one CEL variable.
type View struct {
	vars map[string]any
	// errs maps a variable to why its source could not be read; rules
	// reading it end in error.
	errs map[string]string
}

// Paths of the captured files the view reads.
const (
	pathSSHDConfig = "/etc/ssh/sshd_config"
	pathPasswd     = "/etc/passwd"
	pathShadow     = "/etc/shadow"
	pathGroup      = "/etc/group"
	pathGShadow    = "/etc/gshadow"
	pathLoginDefs  = "/etc/login.defs"
	pathSudoers    = "/etc/sudoers"
	pathInetd      = "/etc/inetd.conf"
	pathSecuretty  = "/etc/securetty"
)

// NewView builds the view of f.
func NewView(f *Features) (*View, error) {
	v := &View{vars: map[string]any{}, errs: map[string]string{}}
	files := make([]File, len(f.Files))
	byPath := make(map[string]File, len(f.Files))
	for i, fl := range f.Files {
		files[i] = withBits(fl)
		byPath[fl.Path] = files[i]
	}
	installed := make(map[string]Package, len(f.Packages))
	for _, p := range f.Packages {
		installed[p.Name] = p
	}
	cfgFiles := f.ConfigFiles
	if cfgFiles == nil {
		cfgFiles = map[string]string{}
	}
	img, err := imageConfig(f)
	if err != nil {
		return nil, err
	}
	v.vars["image"] = img
	v.vars["files"] = files
	v.vars["paths"] = byPath
	v.vars["packages"] = f.Packages
	v.vars["installed"] = installed
	v.vars["config_files"] = cfgFiles
	v.vars["sshd"] = v.sshd(cfgFiles, installed, byPath)
	v.vars["login_defs"] = loginDefs(cfgFiles)
	v.vars["vsftpd"] = vsftpdView(cfgFiles, installed)
	v.vars["proftpd"] = v.proftpdView(cfgFiles, installed)
	v.vars["accounts"] = accountsView(cfgFiles)
	v.vars["pam"] = pamView(cfgFiles)
	v.vars["sudo"] = sudoView(cfgFiles)
	v.vars["inetd"] = inetdView(cfgFiles)
	return v, nil
}

// withBits fills in the fields derived from Mode.
func withBits(f File) File {
	f.Perm = fmt.Sprintf("%04o", f.Mode&0o7777)
	f.Setuid = f.Mode&0o4000 != 0
	f.Setgid = f.Mode&0o2000 != 0
	f.Sticky = f.Mode&0o1000 != 0
	f.WorldWritable = f.Mode&0o002 != 0 && f.Type != "symlink"
	return f
}

// ociConfig is the part of an OCI image config the view reads.
type ociConfig struct {
	Config struct {
		User         string
		Env          []string
		ExposedPorts map[string]struct{}
		Volumes      map[string]struct{}
		Healthcheck  *struct{ Test []string }
		Entrypoint   []string
		Cmd          []string
		Labels       map[string]string
	} `json:"config"`
	History []struct {
		CreatedBy  string `json:"created_by"`
		EmptyLayer bool   `json:"empty_layer"`
	} `json:"history"`
}

func imageConfig(f *Features) (ImageConfig, error) {
	var c ociConfig
	if len(f.Config) > 0 {
		if err := json.Unmarshal(f.Config, &c); err != nil {
			return ImageConfig{}, fmt.Errorf("decode image config: %w", err)
		}
	}
	img := ImageConfig{User: c.Config.User, Env: map[string]string{},
		ExposedPorts: sortedKeys(c.Config.ExposedPorts), Volumes: sortedKeys(c.Config.Volumes),
		Entrypoint: nonNil(c.Config.Entrypoint), Cmd: nonNil(c.Config.Cmd),
		Labels: c.Config.Labels, OS: f.OS, History: []History{},
		Scratch: len(f.Files) == 0 && len(f.Packages) == 0}
	if img.Labels == nil {
		img.Labels = map[string]string{}
	}
	for _, kv := range c.Config.Env {
		k, val, _ := strings.Cut(kv, "=")
		img.Env[k] = val
	}
	if hc := c.Config.Healthcheck; hc != nil && len(hc.Test) > 0 {
		img.Healthcheck = Healthcheck{Present: true, Test: hc.Test,
			Disabled: strings.EqualFold(hc.Test[0], "NONE")}
	}
	for i, h := range c.History {
		img.History = append(img.History, History{Index: i, CreatedBy: h.CreatedBy,
			EmptyLayer: h.EmptyLayer})
	}
	return img, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// sshdServers are packages that install an SSH server.
var sshdServers = []string{"openssh-server", "dropbear", "dropbear-bin", "tinysshd"}

func (v *View) sshd(files map[string]string, installed map[string]Package,
	byPath map[string]File) SSHD {
	s := SSHD{Files: []string{}, Settings: map[string]Setting{}}
	for _, p := range sshdServers {
		_, ok := installed[p]
		s.Installed = s.Installed || ok
	}
	_, hasBinary := byPath["/usr/sbin/sshd"]
	s.Installed = s.Installed || hasBinary
	cfg, err := sshdconfig.ParseFiles(files, pathSSHDConfig)
	if err != nil {
		v.errs["sshd"] = err.Error()
		return s
	}
	s.Files = nonNil(cfg.Files)
	s.MatchBlocks = cfg.MatchBlocks
	for k, d := range sshdconfig.Defaults {
		s.Settings[k] = Setting{Value: d, IsDefault: true}
	}
	for _, k := range cfg.Keywords() {
		e, _ := cfg.Lookup(k)
		s.Settings[k] = Setting{Value: e.Value(), File: e.File, Line: e.Line}
	}
	return s
}

func loginDefs(files map[string]string) LoginDefs {
	l := LoginDefs{Settings: map[string]Setting{}}
	text, ok := files[pathLoginDefs]
	if !ok {
		return l
	}
	l.Present, l.File = true, pathLoginDefs
	for k, s := range logindefs.Parse(text) {
		l.Settings[k] = Setting{Value: s.Value, File: pathLoginDefs, Line: s.Line}
	}
	return l
}

// vsftpdPaths are where distributions keep vsftpd.conf, preferred first.
var vsftpdPaths = []string{"/etc/vsftpd.conf", "/etc/vsftpd/vsftpd.conf"}

func vsftpdView(files map[string]string, installed map[string]Package) VSFTPD {
	_, inst := installed["vsftpd"]
	out := VSFTPD{Present: inst, Settings: map[string]Setting{}, Invalid: []int{}}
	text := ""
	for _, p := range vsftpdPaths {
		if t, ok := files[p]; ok {
			out.Present, out.File, text = true, p, t
			break
		}
	}
	c := vsftpd.Parse(text)
	for k, s := range c.Settings {
		out.Settings[k] = Setting{Value: s.Value, File: out.File, Line: s.Line,
			IsDefault: s.Line == 0}
	}
	out.Invalid = append(out.Invalid, c.Invalid...)
	return out
}

var proftpdPaths = []string{"/etc/proftpd/proftpd.conf", "/etc/proftpd.conf"}

func (v *View) proftpdView(files map[string]string, installed map[string]Package) ProFTPD {
	out := ProFTPD{Settings: map[string]Setting{}, Anonymous: []FTPSection{}}
	for _, p := range []string{"proftpd-basic", "proftpd-core", "proftpd"} {
		_, ok := installed[p]
		out.Present = out.Present || ok
	}
	text := ""
	for _, p := range proftpdPaths {
		if t, ok := files[p]; ok {
			out.Present, out.File, text = true, p, t
			break
		}
	}
	top, err := proftpd.Parse(text)
	if err != nil {
		v.errs["proftpd"] = fmt.Sprintf("%s: %v", out.File, err)
		return out
	}
	addDirectives(out.Settings, top, out.File)
	for _, g := range top.Find("Global") {
		addDirectives(out.Settings, g, out.File)
	}
	for _, a := range top.Find("Anonymous") {
		s := FTPSection{Line: a.Line, Args: nonNil(a.Args), Settings: map[string]Setting{},
			WriteAllowed: writeAllowed(a)}
		addDirectives(s.Settings, a, out.File)
		out.Anonymous = append(out.Anonymous, s)
	}
	return out
}

func addDirectives(m map[string]Setting, s *proftpd.Section, file string) {
	for _, d := range s.Directives {
		k := strings.ToLower(d.Name)
		if _, ok := m[k]; !ok {
			m[k] = Setting{Value: d.Value(), File: file, Line: d.Line}
		}
	}
}

// writeAllowed reports whether a <Limit> on a write command inside s lets
// anyone through.
func writeAllowed(s *proftpd.Section) bool {
	for _, l := range s.Find("Limit") {
		writes := slices.ContainsFunc(l.Args, func(a string) bool {
			switch strings.ToUpper(a) {
			case "WRITE", "STOR", "STOU", "APPE", "MKD", "XMKD", "ALL":
				return true
			}
			return false
		})
		_, allowAll := l.Lookup("AllowAll")
		allow, ok := l.Lookup("Allow")
		if writes && (allowAll || ok && strings.Contains(strings.ToLower(allow.Value()), "all")) {
			return true
		}
	}
	return false
}

func accountsView(files map[string]string) Accounts {
	a := Accounts{Users: []User{}, Groups: []Group{}, UIDs: []int{}, GIDs: []int{}}
	passwd, ok := files[pathPasswd]
	a.Present = ok
	_, a.Shadow = files[pathShadow]
	group, hasGroup := files[pathGroup]
	a.Group = hasGroup
	_, a.GShadow = files[pathGShadow]
	fields := passwdFields(passwd)
	for _, u := range accounts.Parse(passwd, files[pathShadow]) {
		f := fields[u.Line]
		gid, _ := strconv.Atoi(f[3])
		pw := f[1]
		ag := u.Aging
		a.Users = append(a.Users, User{Name: u.Name, UID: u.UID, GID: gid, Home: f[5],
			Shell: u.Shell, Password: string(u.State), Line: u.Line,
			HashInPasswd: u.State == accounts.Hashed && pw != "x" &&
				!strings.HasPrefix(pw, "##"),
			ShadowLine: ag.Line, LastChange: ag.LastChange, MinDays: ag.MinDays,
			MaxDays: ag.MaxDays, WarnDays: ag.WarnDays, InactiveDays: ag.InactiveDays,
			Expire: ag.Expire})
		a.UIDs = append(a.UIDs, u.UID)
	}
	for _, g := range accounts.ParseGroups(group, files[pathGShadow]) {
		a.Groups = append(a.Groups, Group{Name: g.Name, GID: g.GID, Members: g.Members,
			Password: string(g.State), Line: g.Line})
		a.GIDs = append(a.GIDs, g.GID)
	}
	return a
}

// passwdFields splits the lines of passwd that have all seven fields, by
// line number.
func passwdFields(passwd string) map[int][]string {
	out := map[int][]string{}
	n := 0
	for line := range strings.Lines(passwd) {
		n++
		if f := strings.Split(strings.TrimRight(line, "\r\n"), ":"); len(f) >= 7 {
			out[n] = f
		}
	}
	return out
}

func pamView(files map[string]string) PAM {
	p := PAM{Services: map[string][]PAMRule{}}
	for name := range files {
		if path.Dir(name) != pamd.Dir {
			continue
		}
		p.Present = true
		svc := path.Base(name)
		rules := []PAMRule{}
		for _, r := range pamd.Stack(files, svc) {
			rules = append(rules, PAMRule{Type: r.Type, Control: r.Control,
				Module: r.ModuleName(), Args: nonNil(r.Args), File: r.File, Line: r.Line})
		}
		p.Services[svc] = rules
	}
	return p
}

func sudoView(files map[string]string) Sudo {
	s := Sudo{Files: []string{}, Specs: []SudoSpec{}, Defaults: []SudoDefault{}}
	if _, ok := files[pathSudoers]; !ok {
		return s
	}
	s.Present = true
	pol := sudoers.Parse(files, pathSudoers)
	s.Files = pol.Files
	for _, sp := range pol.Specs {
		out := SudoSpec{Users: sp.Users, Hosts: sp.Hosts, Commands: []string{},
			File: sp.File, Line: sp.Line}
		for _, c := range sp.Commands {
			out.Commands = append(out.Commands, c.Command)
			out.NoPasswd = out.NoPasswd || c.NoPasswd()
		}
		s.Specs = append(s.Specs, out)
	}
	for _, d := range pol.Defaults {
		s.Defaults = append(s.Defaults, SudoDefault{Scope: d.Scope, Name: d.Name,
			Negated: d.Negated, Value: d.Value, File: d.File, Line: d.Line})
	}
	return s
}

// inetdView reads inetd.conf's enabled lines: "service socket protocol
// wait user server args".
func inetdView(files map[string]string) Inetd {
	out := Inetd{Services: []InetdService{}}
	text, ok := files[pathInetd]
	if !ok {
		return out
	}
	out.Present = true
	n := 0
	for line := range strings.Lines(text) {
		n++
		f := strings.Fields(line)
		if len(f) < 6 || strings.HasPrefix(f[0], "#") {
			continue
		}
		out.Services = append(out.Services, InetdService{Name: f[0], Protocol: f[2],
			Server: f[5], Line: n})
	}
	return out
}
