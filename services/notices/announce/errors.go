package announce

import "errors"

// errNoBody is returned for a message page without a <pre> body.
var errNoBody = errors.New("no <pre> message body")
