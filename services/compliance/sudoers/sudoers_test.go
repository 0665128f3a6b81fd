package sudoers_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/compliance/sudoers"
)

func TestPolicy(t *testing.T) {
	files := map[string]string{
		"/etc/sudoers": "Defaults\tenv_reset\nDefaults:app !authenticate, timestamp_timeout=5\n" +
			"# a comment\nroot\tALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n" +
			"#1000 ALL = NOPASSWD: /bin/ls, PASSWD: /bin/rm, /bin/cp\n" +
			"Cmnd_Alias SHUT = /sbin/halt, \\\n  /sbin/reboot\n" +
			"@includedir /etc/sudoers.d\n",
		"/etc/sudoers.d/app":     "app ALL=(root) NOPASSWD:SETENV: /usr/bin/app\n",
		"/etc/sudoers.d/app.bak": "evil ALL=(ALL) NOPASSWD: ALL\n",
		"/etc/sudoers.d/app~":    "evil ALL=(ALL) NOPASSWD: ALL\n",
	}
	p := sudoers.Parse(files, "/etc/sudoers")
	type spec struct {
		Users, Commands []string
		NoPasswd        []bool
		Line            int
	}
	var got []spec
	for _, s := range p.Specs {
		g := spec{Users: s.Users, Line: s.Line}
		for _, c := range s.Commands {
			g.Commands = append(g.Commands, c.Command)
			g.NoPasswd = append(g.NoPasswd, c.NoPasswd())
		}
		got = append(got, g)
	}
	want := []spec{
		{[]string{"root"}, []string{"ALL"}, []bool{false}, 4},
		{[]string{"%sudo"}, []string{"ALL"}, []bool{false}, 5},
		{[]string{"#1000"}, []string{"/bin/ls", "/bin/rm", "/bin/cp"},
			[]bool{true, false, false}, 6},
		{[]string{"app"}, []string{"/usr/bin/app"}, []bool{true}, 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("specs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/etc/sudoers", "/etc/sudoers.d/app"}, p.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/sbin/halt", "/sbin/reboot"}, p.Aliases["SHUT"]); diff != "" {
		t.Errorf("alias (-want +got):\n%s", diff)
	}
	var negated []string
	for _, d := range p.Defaults {
		if d.Negated {
			negated = append(negated, d.Scope+" "+d.Name)
		}
	}
	if diff := cmp.Diff([]string{":app authenticate"}, negated); diff != "" {
		t.Errorf("negated defaults (-want +got):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("root ALL=(ALL) NOPASSWD: ALL\n#includedir /etc/sudoers.d\nDefaults !x\n")
	f.Fuzz(func(t *testing.T, s string) {
		p := sudoers.Parse(map[string]string{"/etc/sudoers": s, "/etc/sudoers.d/a": s},
			"/etc/sudoers")
		for _, sp := range p.Specs {
			if sp.Line < 1 {
				t.Errorf("spec %+v", sp)
			}
		}
	})
}
