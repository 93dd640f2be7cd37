package favoritesvc

// AuthorTTL is how long the service remembers a video's author, for tests that
// need it forgotten.
const AuthorTTL = authorTTL
