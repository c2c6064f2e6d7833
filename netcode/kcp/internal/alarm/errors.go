package alarm

import "errors"

// ErrClosed is Wait's answer once the Alarm is closed.
var ErrClosed = errors.New("alarm: closed")
