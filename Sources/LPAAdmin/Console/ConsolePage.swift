/// The console's only HTML page: a shell the script fills in. No inline script or style (the
/// Content-Security-Policy forbids both).
enum ConsolePage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ServerLPA console</title>
<link rel="stylesheet" href="/console/console.css">
<script src="/console/console.js" defer></script>
</head>
<body>
<header id="top">
  <span class="brand">ServerLPA</span>
  <nav id="nav" hidden>
    <a href="#/fleet" data-page="fleet">Fleet</a>
    <a href="#/campaigns" data-page="campaigns">Campaigns</a>
    <a href="#/jobs" data-page="jobs">Jobs</a>
    <a href="#/libraries" data-page="libraries">Libraries</a>
  </nav>
  <span id="who" hidden></span>
  <button id="signout" type="button" hidden>Sign out</button>
</header>
<section id="signin" class="card narrow" hidden>
  <h1>Sign in</h1>
  <p>Paste an admin API token (see the <code>admin.tokens</code> of lpa-core's configuration, or the token
  <code>lpa-sim demo</code> prints). It stays in this tab only.</p>
  <form id="signin-form">
    <label for="token">Token</label>
    <input id="token" name="token" type="password" autocomplete="off" required minlength="16">
    <p id="signin-error" class="error" hidden></p>
    <button type="submit">Sign in</button>
  </form>
</section>
<main id="main"></main>
<footer id="status" aria-live="polite"></footer>
</body>
</html>
"""#
}
