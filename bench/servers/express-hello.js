// Baseline: a bare Express 5 app answering a fixed JSON body (the framework's own ceiling).
const express = require('express');

const app = express();
app.get('/', (_req, res) => {
  res.json({ hello: 'world' });
});
app.listen(Number(process.env.PORT), '127.0.0.1');
