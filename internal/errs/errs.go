// Package errs is mdouyin's one error type: a code from idl/base.thrift with a
// message meant for the person using the app.
//
// An *Error travels between roles as a Kitex business status error, so a caller sees
// the same code and message whether the callee ran in its own process or behind RPC.
// The gateway turns it into `status_code`/`status_msg` in one place. Anything that is
// not an *Error is an internal failure: its text is logged and never sent.
package errs

import (
	"errors"
	"fmt"

	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// Error is a business error with a stable code and a client-safe message.
type Error struct {
	Code base.ErrCode
	Msg  string
}

// New returns an *Error with the given code and client-safe message.
func New(code base.ErrCode, msg string) *Error {
	return &Error{Code: code, Msg: msg}
}

// Newf is New with a formatted message.
func Newf(code base.ErrCode, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d): %s", e.Code, int32(e.Code), e.Msg) }

// BizStatusCode, BizMessage and BizExtra let Kitex carry an *Error across RPC as a
// business status instead of a transport failure.
func (e *Error) BizStatusCode() int32        { return int32(e.Code) }
func (e *Error) BizMessage() string          { return e.Msg }
func (e *Error) BizExtra() map[string]string { return nil }
func (e *Error) Is(target error) bool        { t, ok := target.(*Error); return ok && t.Code == e.Code }

// Common errors. Services wrap nothing in them; they are compared by code.
var (
	ErrNotImplemented  = New(base.ErrCode_NotImplemented, "not available yet")
	ErrUnauthenticated = New(base.ErrCode_Unauthenticated, "please log in again")
)

// InvalidArgument is the error for a malformed or out-of-range parameter.
func InvalidArgument(format string, args ...any) *Error {
	return Newf(base.ErrCode_InvalidArgument, format, args...)
}

// From returns the business error carried by err: an *Error from this process, or
// one rebuilt from a Kitex business status received over RPC. It returns false for
// internal failures, which have no client-safe message.
func From(err error) (*Error, bool) {
	if err == nil {
		return nil, false
	}
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	if bse, ok := kerrors.FromBizStatusError(err); ok {
		return &Error{Code: base.ErrCode(bse.BizStatusCode()), Msg: bse.BizMessage()}, true
	}
	return nil, false
}

// CodeOf returns err's business code: OK for nil, Internal for failures that are not
// business errors.
func CodeOf(err error) base.ErrCode {
	if err == nil {
		return base.ErrCode_OK
	}
	if e, ok := From(err); ok {
		return e.Code
	}
	return base.ErrCode_Internal
}
