package backend

// Prelisten exposes the listen that precedes a repair to the tests.
var Prelisten = (*Backend).prelisten
