package proftpd_test

import (
	"testing"

	"crawlspace.dev/services/compliance/proftpd"
)

// conf is shaped like Debian's proftpd.conf with its commented anonymous
// example enabled.
const conf = `Include /etc/proftpd/modules.conf
ServerName "Debian"
<IfModule mod_tls.c>
  TLSEngine on
</IfModule>
<Anonymous ~ftp>
  User ftp
  <Directory incoming>
    <Limit READ WRITE>
      DenyAll
    </Limit>
    <Limit STOR>
      AllowAll
    </Limit>
  </Directory>
</Anonymous>
`

func TestSections(t *testing.T) {
	top, err := proftpd.Parse(conf)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := top.Lookup("servername"); !ok || d.Value() != "Debian" || d.Line != 2 {
		t.Errorf("ServerName = %+v", d)
	}
	anon := top.Find("anonymous")
	if len(anon) != 1 || anon[0].Line != 6 || anon[0].Args[0] != "~ftp" {
		t.Fatalf("anonymous sections %+v", anon)
	}
	if n := len(anon[0].Find("Limit")); n != 2 {
		t.Errorf("%d Limit sections in Anonymous, want 2", n)
	}
	if _, ok := top.Lookup("TLSEngine"); ok {
		t.Error("TLSEngine inside IfModule read as top level")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, text string }{
		{"stray close", "</Anonymous>\n"},
		{"mismatched close", "<Global>\n</Anonymous>\n"},
		{"empty tag", "<>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := proftpd.Parse(tt.text); err == nil {
				t.Error("no error")
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(conf)
	f.Fuzz(func(t *testing.T, s string) {
		top, err := proftpd.Parse(s)
		if err != nil {
			return
		}
		for _, d := range top.Directives {
			if d.Name == "" || d.Line < 1 {
				t.Errorf("directive %+v", d)
			}
		}
	})
}
