// Package accounts is tickwire's user accounts: the user store (SQLite,
// behind the Store interface that the social service also uses), username
// and password rules, argon2id password hashing, and the HTTP API for
// register, login, refresh, logout and me, with per-IP and per-username
// login rate limits and persistent token revocation.
//
// Concurrency: a Store is safe for concurrent use (the *sql.DB serialises
// what it must). A Service is safe for concurrent use: its revocation
// cache and its rate limiters are each guarded by their own mutex, held
// only for map work and never across I/O or hashing. Service.Run(ctx)
// owns the only background goroutine (the purge of expired revocations)
// and returns when ctx ends. docs/ACCOUNTS.md documents the rules and
// the API.
package accounts
