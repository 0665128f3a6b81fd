// Package conformance holds the tests that check the version comparators
// of the matcher against the distributions' own tools: dpkg order against
// `dpkg --compare-versions` and rpm order against rpm's vercmp, on version
// pairs drawn from the shared real-data fixtures and on the classic hard
// cases. The package has no API; its tests are its content.
package conformance
