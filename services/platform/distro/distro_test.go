package distro

import "testing"

func TestRelease(t *testing.T) {
	tests := []struct {
		id, version, codename, want string
	}{
		{"debian", "12", "bookworm", "bookworm"},
		{"debian", "9", "", "stretch"},
		{"ubuntu", "22.04", "jammy", "jammy"},
		{"ubuntu", "18.04", "", "bionic"},
		{"alpine", "3.19.1", "", "v3.19"},
		{"alpine", "3", "", ""},
		{"rocky", "9.3", "", "el9"},
		{"centos", "7", "", "el7"},
		{"almalinux", "8.8", "", "el8"},
		{"fedora", "39", "", ""},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.id+"-"+tt.version, func(t *testing.T) {
			if got := Release(tt.id, tt.version, tt.codename); got != tt.want {
				t.Errorf("Release(%q, %q, %q) = %q, want %q", tt.id, tt.version, tt.codename,
					got, tt.want)
			}
		})
	}
}

func TestEcosystem(t *testing.T) {
	for id, want := range map[string]string{"debian": Dpkg, "ubuntu": Dpkg, "alpine": APK,
		"rhel": RPM, "rocky": RPM, "scratch": ""} {
		if got := Ecosystem(id); got != want {
			t.Errorf("Ecosystem(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestPackageName(t *testing.T) {
	tests := []struct{ ecosystem, in, want string }{
		{PyPI, "Django", "django"},
		{PyPI, "zope.interface", "zope-interface"},
		{PyPI, "Foo__Bar-.baz", "foo-bar-baz"},
		{PyPI, "_x", "x"},
		{PyPI, "typing_extensions", "typing-extensions"},
		{NPM, "@Scope/Name_x", "@Scope/Name_x"},
		{Maven, "org.apache:Commons_IO", "org.apache:Commons_IO"},
	}
	for _, tt := range tests {
		t.Run(tt.ecosystem+"/"+tt.in, func(t *testing.T) {
			if got := PackageName(tt.ecosystem, tt.in); got != tt.want {
				t.Errorf("PackageName(%q, %q) = %q, want %q", tt.ecosystem, tt.in, got, tt.want)
			}
		})
	}
}
