package compliance

// The types below are the typed view rule expressions read. Each is a CEL
// object type named compliance.<Type>; its fields are the snake_case names
// in the cel tags. A rule that reads a field that does not exist fails to
// compile, so a typo in a rule is caught when the rules are loaded.

// File is one entry of the merged image file system.
type File struct {
	// Path is the absolute path.
	Path string `cel:"path"`
	// Type is file, dir, symlink, hardlink, char, block or fifo.
	Type string `cel:"type"`
	// Mode holds the permission bits, setuid, setgid and sticky included.
	Mode int `cel:"mode"`
	// Perm is Mode as four octal digits, such as "0644" or "4755".
	Perm string `cel:"perm"`
	// UID and GID own the file.
	UID int `cel:"uid"`
	GID int `cel:"gid"`
	// Size is the size in bytes.
	Size int `cel:"size"`
	// Link is a link's target.
	Link string `cel:"link"`
	// Setuid, Setgid and Sticky are the special bits of Mode.
	Setuid bool `cel:"setuid"`
	Setgid bool `cel:"setgid"`
	Sticky bool `cel:"sticky"`
	// WorldWritable is true for a file or directory others may write; never
	// for a symlink, whose mode means nothing.
	WorldWritable bool `cel:"world_writable"`
}

// Package is one installed package.
type Package struct {
	// Ecosystem is the package manager, such as "dpkg".
	Ecosystem string `cel:"ecosystem"`
	// Name and Version are the binary package's.
	Name    string `cel:"name"`
	Version string `cel:"version"`
	// Source is the source package's name.
	Source string `cel:"source"`
}

// Setting is a configuration value with where it comes from.
type Setting struct {
	// Value is the value as written, or the program's default.
	Value string `cel:"value"`
	// File and Line locate it; Line is 0 for a default.
	File string `cel:"file"`
	Line int    `cel:"line"`
	// IsDefault is true when no line sets it.
	IsDefault bool `cel:"is_default"`
}

// OS names the image's distribution.
type OS struct {
	ID        string `cel:"id"`
	VersionID string `cel:"version_id"`
	Codename  string `cel:"codename"`
}

// ImageConfig is the image config's runtime part and build history.
type ImageConfig struct {
	// User is config.User, "" when unset.
	User string `cel:"user"`
	// Env maps environment variable names to values; the crawler has
	// already replaced secret-looking values with "<redacted>".
	Env map[string]string `cel:"env"`
	// ExposedPorts are config.ExposedPorts' keys, such as "22/tcp".
	ExposedPorts []string `cel:"exposed_ports"`
	// Volumes are config.Volumes' keys.
	Volumes []string `cel:"volumes"`
	// Healthcheck is config.Healthcheck.
	Healthcheck Healthcheck `cel:"healthcheck"`
	// Entrypoint and Cmd are as configured.
	Entrypoint []string `cel:"entrypoint"`
	Cmd        []string `cel:"cmd"`
	// Labels are config.Labels.
	Labels map[string]string `cel:"labels"`
	// History lists the build steps, oldest first.
	History []History `cel:"history"`
	// OS is the distribution from os-release.
	OS OS `cel:"os"`
	// Scratch is true when the image has no files and no packages.
	Scratch bool `cel:"scratch"`
}

// Healthcheck is the image's HEALTHCHECK.
type Healthcheck struct {
	// Present is true when the config has one; Disabled when its test is
	// NONE.
	Present  bool     `cel:"present"`
	Disabled bool     `cel:"disabled"`
	Test     []string `cel:"test"`
}

// History is one build step.
type History struct {
	// Index is the step's position, from 0.
	Index int `cel:"index"`
	// CreatedBy is the instruction, such as "RUN /bin/sh -c apt-get update".
	CreatedBy  string `cel:"created_by"`
	EmptyLayer bool   `cel:"empty_layer"`
}

// SSHD is the SSH server and its effective global configuration.
type SSHD struct {
	// Installed is true when the image has package openssh-server, a
	// dropbear server, or /usr/sbin/sshd.
	Installed bool `cel:"installed"`
	// Files lists the configuration files read, Includes followed.
	Files []string `cel:"files"`
	// Settings maps lowercase keywords to their effective global values:
	// those set, and OpenSSH's defaults for the keywords it knows.
	Settings map[string]Setting `cel:"settings"`
	// MatchBlocks counts Match blocks, which rules do not see into.
	MatchBlocks int `cel:"match_blocks"`
}

// LoginDefs is /etc/login.defs.
type LoginDefs struct {
	Present  bool               `cel:"present"`
	File     string             `cel:"file"`
	Settings map[string]Setting `cel:"settings"`
}

// VSFTPD is vsftpd and its configuration.
type VSFTPD struct {
	// Present is true when vsftpd is installed or configured.
	Present bool   `cel:"present"`
	File    string `cel:"file"`
	// Settings holds every option set and vsftpd's defaults.
	Settings map[string]Setting `cel:"settings"`
	// Invalid lists lines vsftpd would refuse to start on.
	Invalid []int `cel:"invalid"`
}

// ProFTPD is ProFTPD and its configuration.
type ProFTPD struct {
	// Present is true when proftpd is installed or configured.
	Present bool   `cel:"present"`
	File    string `cel:"file"`
	// Settings maps lowercase directive names to their first server-wide
	// value: top level and <Global>.
	Settings map[string]Setting `cel:"settings"`
	// Anonymous lists the <Anonymous> sections.
	Anonymous []FTPSection `cel:"anonymous"`
}

// FTPSection is one ProFTPD section.
type FTPSection struct {
	Line int      `cel:"line"`
	Args []string `cel:"args"`
	// Settings maps lowercase directive names to their first value in the
	// section itself.
	Settings map[string]Setting `cel:"settings"`
	// WriteAllowed is true when a nested <Limit> on WRITE, STOR, MKD or ALL
	// allows anyone.
	WriteAllowed bool `cel:"write_allowed"`
}

// Accounts are the users and groups.
type Accounts struct {
	// Present is true when /etc/passwd was captured.
	Present bool `cel:"present"`
	// Shadow, Group and GShadow say which other files were captured.
	Shadow  bool    `cel:"shadow"`
	Group   bool    `cel:"group"`
	GShadow bool    `cel:"gshadow"`
	Users   []User  `cel:"users"`
	Groups  []Group `cel:"groups"`
	// UIDs and GIDs list every user and group id.
	UIDs []int `cel:"uids"`
	GIDs []int `cel:"gids"`
}

// User is one /etc/passwd account.
type User struct {
	Name  string `cel:"name"`
	UID   int    `cel:"uid"`
	GID   int    `cel:"gid"`
	Home  string `cel:"home"`
	Shell string `cel:"shell"`
	// Password is empty, locked or hashed, as pam_unix would see it.
	Password string `cel:"password"`
	// HashInPasswd is true when /etc/passwd itself holds a hash.
	HashInPasswd bool `cel:"hash_in_passwd"`
	Line         int  `cel:"line"`
	// ShadowLine is the account's line of /etc/shadow; 0 without an entry.
	ShadowLine int `cel:"shadow_line"`
	// LastChange and Expire are days since 1970-01-01; MinDays, MaxDays,
	// WarnDays and InactiveDays are the password ageing limits in days.
	// Each is -1 when its shadow field is empty or the entry is missing.
	LastChange   int `cel:"last_change"`
	MinDays      int `cel:"min_days"`
	MaxDays      int `cel:"max_days"`
	WarnDays     int `cel:"warn_days"`
	InactiveDays int `cel:"inactive_days"`
	Expire       int `cel:"expire"`
}

// Group is one /etc/group entry.
type Group struct {
	Name    string   `cel:"name"`
	GID     int      `cel:"gid"`
	Members []string `cel:"members"`
	// Password is empty, locked or hashed, from gshadow when present.
	Password string `cel:"password"`
	Line     int    `cel:"line"`
}

// PAM is the image's PAM configuration.
type PAM struct {
	// Present is true when any /etc/pam.d file was captured.
	Present bool `cel:"present"`
	// Services maps each service file's name to its assembled stack.
	Services map[string][]PAMRule `cel:"services"`
}

// PAMRule is one rule of a PAM stack.
type PAMRule struct {
	Type    string `cel:"type"`
	Control string `cel:"control"`
	// Module is the module's base name, such as "pam_unix.so".
	Module string   `cel:"module"`
	Args   []string `cel:"args"`
	File   string   `cel:"file"`
	Line   int      `cel:"line"`
}

// Sudo is sudo's policy.
type Sudo struct {
	// Present is true when /etc/sudoers was captured.
	Present  bool          `cel:"present"`
	Files    []string      `cel:"files"`
	Specs    []SudoSpec    `cel:"specs"`
	Defaults []SudoDefault `cel:"defaults"`
}

// SudoSpec is one user specification.
type SudoSpec struct {
	Users    []string `cel:"users"`
	Hosts    []string `cel:"hosts"`
	Commands []string `cel:"commands"`
	// NoPasswd is true when any command runs without a password.
	NoPasswd bool   `cel:"nopasswd"`
	File     string `cel:"file"`
	Line     int    `cel:"line"`
}

// SudoDefault is one Defaults setting.
type SudoDefault struct {
	Scope   string `cel:"scope"`
	Name    string `cel:"name"`
	Negated bool   `cel:"negated"`
	Value   string `cel:"value"`
	File    string `cel:"file"`
	Line    int    `cel:"line"`
}

// Inetd is /etc/inetd.conf.
type Inetd struct {
	Present  bool           `cel:"present"`
	Services []InetdService `cel:"services"`
}

// InetdService is one enabled inetd.conf line.
type InetdService struct {
	Name     string `cel:"name"`
	Protocol string `cel:"protocol"`
	Server   string `cel:"server"`
	Line     int    `cel:"line"`
}
